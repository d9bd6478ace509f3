#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: unit_instances
short_description: Give each instance of a template unit its port drop-in, and drop the extra ones
version_added: 0.1.0
description:
  - For a systemd template unit C(<unit>@.service), writes the drop-in
    C(<unit>@<i>.service.d/port.conf) of instances 1 to O(count), where instance I(i)
    gets C(PORT=<port + i - 1>), and removes the drop-in folders of instances beyond
    O(count).
  - Without O(port) (a worker that listens on nothing) each instance gets
    C(<unit>@<i>.service.d/instance.conf) instead, which sets nothing and marks the instance,
    and no port drop-in; a C(port.conf) left from when the service had a port is removed.
  - With O(socket=true), also writes C(<unit>@<i>.socket.d/port.conf), whose C(ListenStream=)
    is C(0.0.0.0:<port + i - 1>), for the template socket C(<unit>@.socket); with
    O(socket=false) it removes every instance's socket drop-in.
  - One call does for every instance what a C(file) and a C(copy) task per instance
    and a C(find) would do; a deploy with nothing to change makes one round trip.
  - It does not start, stop or reload anything. The caller runs C(systemctl daemon-reload)
    when the result is changed, stops the instances in RV(removed) and stops and disables
    the sockets in RV(sockets_removed).
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Shows the instances and their ports before and after.
  platform:
    platforms: posix
options:
  unit:
    description: The template unit's name without C(@.service), for example C(pakashop-api).
    type: str
    required: true
  count:
    description: How many instances the unit has; C(0) removes every instance's drop-in.
    type: int
    required: true
  port:
    description: The port of instance 1; none for a worker that listens on no port.
    type: int
  socket:
    description:
      - Whether the instances take their listening socket from C(<unit>@<i>.socket), which then
        gets a drop-in with the instance's port too. Needs O(port).
    type: bool
    default: false
  unit_dir:
    description: Where the drop-in folders live.
    type: path
    default: /etc/systemd/system
seealso:
  - module: ansible.builtin.systemd_service
"""

EXAMPLES = r"""
- name: Two instances of the api, on ports 8101 and 8102
  pakashop.infra.unit_instances:
    unit: pakashop-api
    count: 2
    port: 8101
  register: api_instances

- name: Two instances of a worker without a port
  pakashop.infra.unit_instances:
    unit: pakashop-notifications
    count: 2

- name: Stop the instances the catalog no longer has
  ansible.builtin.systemd_service:
    name: "pakashop-api@{{ item }}.service"
    state: stopped
    enabled: false
  loop: "{{ api_instances.removed }}"
"""

RETURN = r"""
instances:
  description: The instances the unit has after the task, with their ports.
  returned: always
  type: list
  elements: dict
  sample: [{"instance": 1, "port": 8101}, {"instance": 2, "port": 8102}]
  contains:
    instance:
      description: The instance's number.
      type: int
    port:
      description: Its port; null for a worker without a port.
      type: int
written:
  description: The instances whose drop-in was written (or would be, in check mode).
  returned: always
  type: list
  elements: int
  sample: [2]
removed:
  description: The instances beyond O(count) whose drop-in folders were removed (or would be).
  returned: always
  type: list
  elements: int
  sample: [3]
sockets_written:
  description: The instances whose socket drop-in was written (or would be); their sockets must start anew.
  returned: always
  type: list
  elements: int
  sample: [1, 2]
sockets_removed:
  description:
    - The instances whose socket drop-in folder was removed (or would be), beyond O(count) or
      all of them with O(socket=false); their sockets are to be stopped and disabled.
  returned: always
  type: list
  elements: int
  sample: [3]
"""

import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instance_port
from ansible_collections.pakashop.infra.plugins.module_utils._units import (
    INSTANCE_DROPIN, PORT_DROPIN, dropin_name, dropin_text, existing_instances, socket_dropin_text)


def write_file(path, text):
    """Write whole or not at all: a temporary file renamed over the old one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def ports_text(unit, ports, sockets):
    return "".join(f"{unit}@{i}.service " + (f"PORT={port}" if port is not None else "no port") + "\n"
                   for i, port in sorted(ports.items())) + \
        "".join(f"{unit}@{i}.socket ListenStream={port}\n" for i, port in sorted(sockets.items()))


def listed_ports(existing, pattern, every=False):
    """{instance: port} that the existing drop-ins' texts name; with `every`, also
    {instance: None} for an instance whose drop-in names no port."""
    found = {i: re.search(pattern, text or "") for i, text in existing.items()}
    return {i: int(m.group(1)) if m else None for i, m in found.items() if m or every}


def sync(module, kind, wanted, name=PORT_DROPIN):
    """Give every instance in `wanted` ({instance: text}) its <unit>@<i>.<kind>.d/<name>
    (and no other drop-in of ours), remove the folders of the others; (existing texts,
    written, removed)."""
    unit, unit_dir = module.params["unit"], module.params["unit_dir"]
    existing = existing_instances(unit_dir, unit, kind)
    written = [i for i in wanted if existing.get(i) != wanted[i]]
    removed = sorted(i for i in existing if i not in wanted)
    if not module.check_mode:
        for instance in written:
            folder = os.path.join(unit_dir, f"{unit}@{instance}.{kind}.d")
            os.makedirs(folder, mode=0o755, exist_ok=True)
            write_file(os.path.join(folder, name), wanted[instance])
            for other in {PORT_DROPIN, INSTANCE_DROPIN} - {name}:
                if os.path.lexists(os.path.join(folder, other)):
                    os.unlink(os.path.join(folder, other))
        for instance in removed:
            shutil.rmtree(os.path.join(unit_dir, f"{unit}@{instance}.{kind}.d"))
    return existing, written, removed


def main():
    module = AnsibleModule(
        argument_spec={
            "unit": {"type": "str", "required": True},
            "count": {"type": "int", "required": True},
            "port": {"type": "int"},
            "socket": {"type": "bool", "default": False},
            "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
        },
        supports_check_mode=True,
    )
    unit, count, port = (module.params[k] for k in ("unit", "count", "port"))
    if count < 0:
        module.fail_json(msg=f"count must be 0 or more, not {count}")
    if module.params["socket"] and port is None:
        module.fail_json(msg="socket needs port: a socket unit listens on the instance's port")
    last = instance_port(port, count)
    if port is not None and (not 0 < port or last > 65535):
        module.fail_json(msg=f"ports {port}-{last} are not all valid TCP ports (1-65535)")

    ports = {i: instance_port(port, i) for i in range(1, count + 1)}
    sockets = ports if module.params["socket"] else {}
    existing, written, removed = sync(module, "service", {i: dropin_text(unit, i, p) for i, p in ports.items()},
                                      dropin_name(port))
    existing_sockets, sockets_written, sockets_removed = sync(
        module, "socket", {i: socket_dropin_text(unit, i, p) for i, p in sockets.items()})

    result = {
        "changed": bool(written or removed or sockets_written or sockets_removed),
        "instances": [{"instance": i, "port": p} for i, p in ports.items()],
        "written": sorted(set(written) | set(sockets_written)),
        "removed": sorted(set(removed) | {i for i in sockets_removed if i > count}),
        "sockets_written": sockets_written,
        "sockets_removed": sockets_removed,
    }
    if module._diff:
        before = ports_text(unit, listed_ports(existing, r"PORT=(\d+)", every=True),
                            listed_ports(existing_sockets, r"ListenStream=\S*:(\d+)"))
        result["diff"] = {"before": before, "after": ports_text(unit, ports, sockets),
                          "before_header": f"{unit} instances", "after_header": f"{unit} instances"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
