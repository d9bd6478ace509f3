# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-instance drop-ins of a template unit: <unit>@<i>.service.d/port.conf,
and for a service that takes its socket from systemd <unit>@<i>.socket.d/port.conf.
A worker that listens on no port gets <unit>@<i>.service.d/instance.conf instead,
which sets nothing: the drop-in folders are the list of a service's instances
(scale down and service_state absent read them). Rendered on the controller
into each release's configuration (filter release_config).

Private to the collection: only its plugins import this.
"""

from __future__ import annotations

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
