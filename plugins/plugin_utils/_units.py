# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-instance drop-ins of a template unit: <unit>@<i>.service.d/port.conf,
and for a service that takes its socket from systemd <unit>@<i>.socket.d/port.conf.
Rendered on the controller into each release's configuration
(filter release_config).

Private to the collection: only its plugins import this.
"""

from __future__ import annotations

HEADER = "# Managed by pakashop.infra: instance {instance} of {unit}.\n"
# Where the socket listens: every address, as the services bound by themselves before.
LISTEN_ADDRESS = "0.0.0.0"


def dropin_text(unit, instance, port):
    return HEADER.format(instance=instance, unit=unit) + f"[Service]\nEnvironment=PORT={port}\n"


def socket_dropin_text(unit, instance, port):
    return HEADER.format(instance=instance, unit=unit) + f"[Socket]\nListenStream={LISTEN_ADDRESS}:{port}\n"
