# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-instance drop-ins of a template unit: <unit>@<i>.service.d/port.conf,
and for a service that takes its socket from systemd <unit>@<i>.socket.d/port.conf.
A worker that listens on no port gets <unit>@<i>.service.d/instance.conf instead,
which sets nothing: the drop-in folders are the list of a service's instances
(scale down and service_state absent read them).

Private to the collection: only its modules import this.
"""

from __future__ import annotations

import os
import re

HEADER = "# Managed by pakashop.infra: instance {instance} of {unit}.\n"
PORT_DROPIN, INSTANCE_DROPIN = "port.conf", "instance.conf"
# Where the socket listens: every address, as the services bound by themselves before.
LISTEN_ADDRESS = "0.0.0.0"


def dropin_name(port):
    """The file name of an instance's drop-in: port.conf, or instance.conf without a port."""
    return PORT_DROPIN if port is not None else INSTANCE_DROPIN


def dropin_text(unit, instance, port):
    if port is None:
        return HEADER.format(instance=instance, unit=unit) + "# It listens on no port; this file marks the instance.\n"
    return HEADER.format(instance=instance, unit=unit) + f"[Service]\nEnvironment=PORT={port}\n"


def socket_dropin_text(unit, instance, port):
    return HEADER.format(instance=instance, unit=unit) + f"[Socket]\nListenStream={LISTEN_ADDRESS}:{port}\n"


def existing_instances(unit_dir, unit, kind="service"):
    """{instance: text of its port.conf, else of its instance.conf, else None} for
    every <unit>@<n>.<kind>.d folder."""
    pattern = re.compile(re.escape(unit) + r"@(\d+)\." + kind + r"\.d$")
    found = {}
    for name in os.listdir(unit_dir) if os.path.isdir(unit_dir) else []:
        match = pattern.match(name)
        if match and os.path.isdir(os.path.join(unit_dir, name)):
            found[int(match.group(1))] = None
            for conf in (PORT_DROPIN, INSTANCE_DROPIN):
                try:
                    with open(os.path.join(unit_dir, name, conf), encoding="utf-8") as handle:
                        found[int(match.group(1))] = handle.read()
                    break
                except OSError:
                    continue
    return found
