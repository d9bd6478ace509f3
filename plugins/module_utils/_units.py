# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-instance drop-ins of a template unit: <unit>@<i>.service.d/port.conf,
and for a service that takes its socket from systemd <unit>@<i>.socket.d/port.conf.

Private to the collection: only its modules import this.
"""

from __future__ import annotations

import os
import re

HEADER = "# Managed by pakashop.infra: instance {instance} of {unit}.\n"
# Where the socket listens: every address, as the services bound by themselves before.
LISTEN_ADDRESS = "0.0.0.0"


def dropin_text(unit, instance, port):
    return HEADER.format(instance=instance, unit=unit) + f"[Service]\nEnvironment=PORT={port}\n"


def socket_dropin_text(unit, instance, port):
    return HEADER.format(instance=instance, unit=unit) + f"[Socket]\nListenStream={LISTEN_ADDRESS}:{port}\n"


def existing_instances(unit_dir, unit, kind="service"):
    """{instance: port.conf text or None} for every <unit>@<n>.<kind>.d folder."""
    pattern = re.compile(re.escape(unit) + r"@(\d+)\." + kind + r"\.d$")
    found = {}
    for name in os.listdir(unit_dir) if os.path.isdir(unit_dir) else []:
        match = pattern.match(name)
        if match and os.path.isdir(os.path.join(unit_dir, name)):
            conf = os.path.join(unit_dir, name, "port.conf")
            try:
                with open(conf, encoding="utf-8") as handle:
                    found[int(match.group(1))] = handle.read()
            except OSError:
                found[int(match.group(1))] = None
    return found
