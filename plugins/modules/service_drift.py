#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_drift
short_description: Say how one service on a host differs from a release and its configuration
version_added: 0.1.0
description:
  - Compares one service on the host with what a deploy of O(release) would leave there,
    in one pass, and lists every difference in a sentence. An empty O(ignore:drift) means
    a deploy would change nothing, so the service role skips its other tasks for that
    service; this is what makes a redeploy with nothing changed cheap.
  - Looks at the service's user and group, the O(directories) and O(files) (owner, group,
    mode, and each file's checksum), one drop-in per instance and none beyond
    O(instances) (its port's, or without O(port) the one that marks a worker's instance, as
    M(pakashop.infra.unit_instances) writes them; and with O(socket=true) the same for the
    instances' socket units, none with O(socket=false) and no socket of an instance still
    listening), that none of O(absent_files)
    is there, where C(current) points and what the ledger says of that release,
    whether the O(enabled) units and every instance (and its socket) are enabled, whether systemd has
    loaded the unit files as they are on disk, and every instance's state and readiness
    (the gates of M(pakashop.infra.service_health) for its O(readiness), probed once; the
    instance must name itself in O(identity_field) and report O(expected_version)).
  - Reads only; runs in check mode.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.health_endpoint
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: Reads only; O(ignore:drift) says what a deploy would change.
  platform:
    platforms: posix
options:
  release:
    description: The release C(current) must point at, recorded C(active) in the ledger.
    type: str
    required: true
  expected_version:
    description: The version (commit) every instance must report (its health answer, sd_notify status or readiness command).
    type: str
    required: true
  instances:
    description: How many instances the service runs; drop-ins beyond this count are drift.
    type: int
    default: 1
  address:
    description: The address the health endpoints are asked on (with O(readiness=http)).
    type: str
    default: 127.0.0.1
  user:
    description: The service's user, whose primary group has the same name.
    type: str
    required: true
  home:
    description: The user's home.
    type: path
    required: true
  shell:
    description: The user's shell.
    type: str
    default: /usr/sbin/nologin
  directories:
    description: Folders that must exist with this owner, group and mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The folder.
        type: path
        required: true
      owner:
        description: Its owner.
        type: str
        default: root
      group:
        description: Its group.
        type: str
        default: root
      mode:
        description: Its mode in octal, for example V(0750).
        type: str
        required: true
  files:
    description: Files that must exist with this content (given as its SHA-1), owner, group and mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      checksum:
        description:
          - The SHA-1 of the content the file must have (Ansible's C(checksum) filter).
          - Kept out of logs, since the content may be an environment file with secrets.
        type: str
        required: true
      owner:
        description: Its owner.
        type: str
        default: root
      group:
        description: Its group.
        type: str
        default: root
      mode:
        description: Its mode in octal, for example V(0600).
        type: str
        required: true
  absent_files:
    description:
      - Files that must not be there, such as the socket unit of a service that binds its port
        itself (O(socket=false)).
    type: list
    elements: path
    default: []
  enabled:
    description: Units that must be enabled, besides every instance of the service.
    type: list
    elements: str
    default: []
  root:
    description: Where the services' release trees are.
    type: path
    default: /opt/pakashop
  ledger_dir:
    description: Where the services' ledgers are.
    type: path
    default: /var/lib/pakashop/ledger
  unit_dir:
    description: Where the unit files and their drop-ins are.
    type: path
    default: /etc/systemd/system
seealso:
  - module: pakashop.infra.service_health
  - module: pakashop.infra.release
  - module: pakashop.infra.unit_instances
"""

EXAMPLES = r"""
- name: Is the api already on this release, configured as the role would?
  pakashop.infra.service_drift:
    service: api
    release: 20261126T101500Z-3f4a276
    expected_version: 3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed
    instances: 2
    port: 8101
    user: pakashop-api
    home: /opt/pakashop/api
    directories:
      - {path: /opt/pakashop/api, mode: "0755"}
      - {path: /opt/pakashop/api/shared, owner: pakashop-api, group: pakashop-api, mode: "0750"}
    files:
      - path: /etc/pakashop/api.env
        checksum: "{{ lookup('ansible.builtin.template', 'service.env.j2') | ansible.builtin.checksum }}"
        mode: "0600"
    enabled: [pakashop.target, pakashop-api.target]
  register: api_drift

- name: Is the notifications worker (no port, Type=notify) on this release?
  pakashop.infra.service_drift:
    service: notifications
    readiness: notify
    release: 20261126T101500Z-3f4a276
    expected_version: 3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed
    user: pakashop-notifications
    home: /opt/pakashop/notifications

- name: Say what a deploy would change
  ansible.builtin.debug:
    var: api_drift.drift
  when: api_drift.drift | length > 0
"""

RETURN = r"""
drift:
  description: One sentence per difference; empty when a deploy would change nothing.
  returned: always
  type: list
  elements: str
  sample:
    - /etc/pakashop/api.env has other content
    - "pakashop-api@2.service: gate 'unit' failed - the unit is not active/running (inactive/dead, ...)"
converged:
  description: Whether nothing differs (O(ignore:drift) is empty).
  returned: always
  type: bool
configured:
  description:
    - Whether the user, the folders, the files, the drop-ins and the units are as wanted, so that
      only the release or the instances' health may differ. The service role then skips its
      configuration tasks and only installs and activates the release.
  returned: always
  type: bool
needs_daemon_reload:
  description:
    - Whether a unit file of an instance changed on disk since systemd loaded it, so that
      a daemon reload is due even when the role writes no file.
  returned: always
  type: bool
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instance_port
from ansible_collections.pakashop.infra.plugins.module_utils._health import ENDPOINT_ARGUMENT_SPEC, Instance
from ansible_collections.pakashop.infra.plugins.module_utils._release import ACTIVE, ReleaseTree, outcome_of
from ansible_collections.pakashop.infra.plugins.module_utils._units import (
    dropin_text, existing_instances, socket_dropin_text)

PATH_OPTIONS = {
    "path": {"type": "path", "required": True},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
    "mode": {"type": "str", "required": True},
}


def user_drift(name, home, shell):
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        return [f"user {name} does not exist"]
    found = []
    try:
        if grp.getgrgid(user.pw_gid).gr_name != name:
            found.append(f"user {name}'s primary group is not {name}")
    except KeyError:
        found.append(f"user {name}'s primary group does not exist")
    if user.pw_dir != home:
        found.append(f"user {name}'s home is {user.pw_dir}, not {home}")
    if user.pw_shell != shell:
        found.append(f"user {name}'s shell is {user.pw_shell}, not {shell}")
    return found


def owner_mode_drift(path, info, wanted):
    found = []
    mode = stat.S_IMODE(info.st_mode)
    if mode != int(wanted["mode"], 8):
        found.append(f"{path} has mode {mode:04o}, not {wanted['mode']}")
    for kind, number, lookup in (("owner", info.st_uid, pwd.getpwuid), ("group", info.st_gid, grp.getgrgid)):
        try:
            name = lookup(number)[0]
        except KeyError:
            name = str(number)
        if name != wanted[kind]:
            found.append(f"{path} has {kind} {name}, not {wanted[kind]}")
    return found


def path_drift(wanted, is_kind, kind, checksum=None):
    path = wanted["path"]
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return [f"{path} is missing"]
    if not is_kind(info.st_mode):
        return [f"{path} is not a {kind}"]
    found = owner_mode_drift(path, info, wanted)
    if checksum and checksum(path) != wanted["checksum"]:
        found.insert(0, f"{path} has other content")
    return found


def dropin_drift(unit_dir, unit, count, port, socket):
    existing = existing_instances(unit_dir, unit)
    missing = (lambda i: f"has no port drop-in for port {instance_port(port, i)}") if port is not None else \
        (lambda i: "has no drop-in of an instance without a port")
    found = [f"{unit}@{i}.service {missing(i)}"
             for i in range(1, count + 1) if existing.get(i) != dropin_text(unit, i, instance_port(port, i))]
    found += [f"{unit}@{i}.service has a drop-in but the catalog has {count} instances"
              for i in sorted(existing) if i > count]
    sockets = existing_instances(unit_dir, unit, "socket")
    if socket:
        found += [f"{unit}@{i}.socket has no drop-in listening on port {instance_port(port, i)}"
                  for i in range(1, count + 1) if sockets.get(i) != socket_dropin_text(unit, i, instance_port(port, i))]
    extra = f"the catalog has {count} instances" if socket else without_socket(port)
    found += [f"{unit}@{i}.socket has a drop-in but {extra}" for i in sorted(sockets) if i > count or not socket]
    return found


def without_socket(port):
    """Why a service has no socket units."""
    return "the service has no port" if port is None else "the service binds its port itself (socket: false)"


def leftover_drift(module, unit, indexes, absent_files, socket, port):
    """Files that should be gone, and (with socket=false) sockets of instances that still
    listen: an instance they start again would take its port from systemd."""
    found = [f"{path} is still there" for path in absent_files if os.path.lexists(path)]
    if not socket:
        sockets = [f"{unit}@{i}.socket" for i in indexes]
        _rc, out, _err = module.run_command(["systemctl", "show", "--property=Id,ActiveState", *sockets])
        for block in out.split("\n\n"):
            values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if values.get("ActiveState") not in (None, "inactive", "failed"):
                found.append(f"{values.get('Id', 'a socket')} is {values['ActiveState']}, but {without_socket(port)}")
    return found


def release_drift(params):
    tree = ReleaseTree(params["root"], params["service"], params["ledger_dir"])
    release, current = params["release"], tree.current()
    if not tree.is_complete(release):
        return [f"release {release} of {params['service']} is not on the host"]
    if current != release:
        return [f"current points at {current or 'nothing'}, not {release}"]
    outcome = outcome_of(tree.read_ledger(), release)
    if outcome != ACTIVE:
        return [f"the ledger has release {release} as {outcome or 'unknown'}, not active (its gates did not pass)"]
    return []


def systemd_drift(module, units):
    """Units not enabled, and units whose files changed since systemd loaded them
    (a list of sentences, and whether a daemon reload is due)."""
    found, reload_due = [], False
    _rc, out, _err = module.run_command(["systemctl", "is-enabled", *units])
    states = out.split()
    for unit, state in zip(units, states + ["unknown"] * (len(units) - len(states))):
        if state != "enabled":
            found.append(f"{unit} is {state}, not enabled")
    _rc, out, _err = module.run_command(["systemctl", "show", "--property=Id,NeedDaemonReload", *units])
    for block in out.split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if values.get("NeedDaemonReload") == "yes":
            found.append(f"{values.get('Id', 'a unit')} changed on disk since systemd loaded it")
            reload_due = True
    return found, reload_due


def main():
    module = AnsibleModule(
        argument_spec={
            **ENDPOINT_ARGUMENT_SPEC,
            "release": {"type": "str", "required": True},
            "expected_version": {"type": "str", "required": True},
            "instances": {"type": "int", "default": 1},
            "address": {"type": "str", "default": "127.0.0.1"},
            "user": {"type": "str", "required": True},
            "home": {"type": "path", "required": True},
            "shell": {"type": "str", "default": "/usr/sbin/nologin"},
            "directories": {"type": "list", "elements": "dict", "default": [], "options": PATH_OPTIONS},
            "files": {"type": "list", "elements": "dict", "default": [],
                      "options": {**PATH_OPTIONS, "checksum": {"type": "str", "required": True, "no_log": True}}},
            "absent_files": {"type": "list", "elements": "path", "default": []},
            "enabled": {"type": "list", "elements": "str", "default": []},
            "root": {"type": "path", "default": "/opt/pakashop"},
            "ledger_dir": {"type": "path", "default": "/var/lib/pakashop/ledger"},
            "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
        },
        supports_check_mode=True,
    )
    params = module.params
    unit = f"pakashop-{params['service']}"
    indexes = range(1, params["instances"] + 1)

    # What the configuration tasks make: the user, folders, files, drop-ins, units.
    config = user_drift(params["user"], params["home"], params["shell"])
    for wanted in params["directories"]:
        config += path_drift(wanted, stat.S_ISDIR, "folder")
    for wanted in params["files"]:
        config += path_drift(wanted, stat.S_ISREG, "file", checksum=module.sha1)
    config += dropin_drift(params["unit_dir"], unit, params["instances"], params["port"], params["socket"])
    config += leftover_drift(module, unit, indexes, params["absent_files"], params["socket"], params["port"])
    kinds = ("service", "socket") if params["socket"] else ("service",)
    found, reload_due = systemd_drift(module, [*params["enabled"],
                                               *(f"{unit}@{i}.{kind}" for i in indexes for kind in kinds)])
    config += found
    # What the release and activation tasks make; the health last, for what
    # the files and systemd cannot tell.
    drift = config + release_drift(params)
    for index in indexes:
        instance = Instance(module, index)
        instance.probe()
        if instance.gate:
            drift.append(instance.verdict())

    module.exit_json(changed=False, drift=drift, converged=not drift, configured=not config,
                     needs_daemon_reload=reload_due)


if __name__ == "__main__":
    main()
