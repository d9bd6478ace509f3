#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_drift
short_description: Say how a host's services differ from their releases, in one read-only call
version_added: 0.1.0
description:
  - Compares each of O(services) on the host with what a deploy of its O(services[].release) would leave
    there, and lists every difference in a sentence. A service with no difference is C(converged) - the
    service role leaves it alone, so a redeploy with nothing changed is this one call per host.
  - Per service it looks at the account (user, primary group, home, shell) and the O(services[].directories)
    (owner, group, mode) - what the role's layout tasks make; whether the release is complete on the host
    with the configuration O(services[].config) names (checksums) - what
    M(pakashop.infra.release_prepare) makes; and whether C(current) points at it, the host's env file,
    units and port drop-ins are the release's (none missing, none extra), the ledger has the release
    C(active) and serving O(services[].serves), the service's target and every instance (and its socket)
    are enabled, no instance beyond O(services[].instances) is there, systemd has loaded the unit files as
    they are on disk, and every instance passes the gates of M(pakashop.infra.service_health) on the
    release's commit (probed once) - what M(pakashop.infra.release_activate) makes.
  - For the host, whatever every service shares (O(host_directories), O(host_files), O(host_enabled)).
  - Reads only; runs in check mode.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.host_paths
  - pakashop.infra.host_paths.config
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: Reads only; RV(services) says what a deploy would change.
  platform:
    platforms: posix
options:
  services:
    description: The services of the host to compare.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description: The service's name; its units are C(pakashop-<service>@<i>.service).
        type: str
        required: true
      release:
        description: The release C(current) must point at, recorded C(active) in the ledger.
        type: str
        required: true
      commit:
        description: The commit the release is built from, which every instance's health must report.
        type: str
        required: true
      serves:
        description: The environment's commit the ledger must record the release as serving; by default O(services[].commit).
        type: str
      config:
        description:
          - The SHA-1 of each configuration file the release carries, by its name in the release
            (C(env), C(units/<name>)). The host's files must be these, and no other of the service's.
          - Kept out of logs, since the env file holds secrets.
        type: dict
        default: {}
      instances:
        description: How many instances the service runs.
        type: int
        default: 1
      port:
        description: The port of instance 1; instance I(i) listens on C(port) + I(i) - 1. None for a worker.
        type: int
      readiness:
        description:
          - How an instance says it is ready - V(http) (its health endpoint), V(notify) (C(READY=1) and a
            C(STATUS=) with its name and version through sd_notify; the unit is C(Type=notify) and restarts
            without blocking, the gate waits) or V(command) (O(services[].readiness_command)), as
            M(pakashop.infra.service_health) gates them.
        type: str
        choices: [http, notify, command]
        default: http
      readiness_command:
        description: With O(services[].readiness=command), the command run as the service's user that exits 0 and prints the version.
        type: str
      health_path:
        description: The health endpoint's path.
        type: str
        default: /healthz
      identity_field:
        description: The key of the health answer that names the service (an empty string turns the check off).
        type: str
        default: service
      version_field:
        description: The key of the health answer that holds the commit the instance runs.
        type: str
        default: version
      socket:
        description: Whether each instance takes its listening socket from C(pakashop-<service>@<i>.socket).
        type: bool
        default: false
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
        description: The service's folders, that must exist with this owner, group and mode.
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
  host_directories:
    description: Folders every service of the host shares, that must exist with this owner, group and mode.
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
  host_files:
    description: Files every service of the host shares, with the SHA-1 of their content and their mode.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      checksum:
        description: The SHA-1 of the content the file must have (Ansible's C(checksum) filter).
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
        description: Its mode in octal, for example V(0644).
        type: str
        required: true
  host_enabled:
    description: Units every service of the host shares that must be enabled (C(pakashop.target)).
    type: list
    elements: str
    default: []
  address:
    description: The address the health endpoints are asked on.
    type: str
    default: 127.0.0.1
seealso:
  - module: pakashop.infra.release_prepare
  - module: pakashop.infra.release_activate
  - module: pakashop.infra.service_health
"""

EXAMPLES = r"""
- name: Compare the host's services with their releases
  pakashop.infra.service_drift:
    services:
      - service: api
        release: 20261126T101500Z-3f4a276-9c1e2f04
        commit: 3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed
        instances: 2
        port: 8100
        socket: true
        config:
          env: "{{ api_env | ansible.builtin.checksum }}"
        user: pakashop-api
        home: /opt/pakashop/api
        directories:
          - {path: /opt/pakashop/api, mode: "0755"}
          - {path: /opt/pakashop/api/shared, owner: pakashop-api, group: pakashop-api, mode: "0750"}
    host_enabled: [pakashop.target]
  register: host_drift

- name: Say what a deploy would change
  ansible.builtin.debug:
    msg: "{{ host_drift.services | map(attribute='drift') | flatten }}"
"""

RETURN = r"""
services:
  description: Per service of O(services), in their order, what differs.
  returned: always
  type: list
  elements: dict
  contains:
    service:
      description: The service.
      type: str
    drift:
      description: One sentence per difference; empty when a deploy would change nothing.
      type: list
      elements: str
      sample:
        - /etc/pakashop/api.env is not the release's env
        - "pakashop-api@2.service: gate 'unit' failed - the unit is not active/running (inactive/dead, ...)"
    converged:
      description: Whether nothing differs.
      type: bool
    laid_out:
      description: Whether the account and the folders are as wanted (the role's layout tasks are skipped).
      type: bool
    prepared:
      description: Whether the release is complete on the host with its configuration (nothing to send).
      type: bool
    restarts:
      description:
        - Whether activating the release restarts instances - it differs by more than the ledger not
          recording that the release serves O(services[].serves), which a ledger entry settles.
      type: bool
host:
  description: What differs in what the services of the host share.
  returned: always
  type: list
  elements: str
converged:
  description: Whether the host and every service are converged.
  returned: always
  type: bool
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._health import (
    ENDPOINT_ARGUMENT_SPEC, Instance, gate_target, probe_all)
from ansible_collections.pakashop.infra.plugins.module_utils._release import (
    ACTIVE, ReleaseTree, outcome_of, serving)
from ansible_collections.pakashop.infra.plugins.module_utils._release_config import (
    ENV, HostConfig, release_files, unit_name)

# The one difference an activation settles without a restart: a ledger entry.
SERVES_DRIFT = "the ledger does not have release"
PATH_OPTIONS = {
    "path": {"type": "path", "required": True},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
    "mode": {"type": "str", "required": True},
}
SERVICE_OPTIONS = {
    **ENDPOINT_ARGUMENT_SPEC,
    "release": {"type": "str", "required": True},
    "commit": {"type": "str", "required": True},
    "serves": {"type": "str"},
    "config": {"type": "dict", "default": {}, "no_log": True},
    "instances": {"type": "int", "default": 1},
    "user": {"type": "str", "required": True},
    "home": {"type": "path", "required": True},
    "shell": {"type": "str", "default": "/usr/sbin/nologin"},
    "directories": {"type": "list", "elements": "dict", "default": [], "options": PATH_OPTIONS},
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


def checksums(files):
    """{name: SHA-1 of the text}, as Ansible's checksum filter computes it."""
    return {name: hashlib.sha1(text.encode("utf-8")).hexdigest() for name, text in files.items()}  # nosec: a checksum


class Drift:
    def __init__(self, module, spec):
        params = module.params
        self.module = module
        self.spec = spec
        self.name = spec["service"]
        self.unit = unit_name(self.name)
        self.tree = ReleaseTree(params["root"], self.name, params["ledger_dir"])
        self.host = HostConfig(self.name, params["config_dir"], params["unit_dir"])
        self.release = spec["release"]

    def layout(self):
        spec = self.spec
        found = user_drift(spec["user"], spec["home"], spec["shell"])
        for wanted in spec["directories"]:
            found += path_drift(wanted, stat.S_ISDIR, "folder")
        return found

    def preparation(self):
        if not self.tree.is_complete(self.release):
            return [f"release {self.release} of {self.name} is not on the host"]
        carried = release_files(self.tree.path(self.release))
        if carried is None or checksums(carried) != self.spec["config"]:
            return [f"release {self.release} of {self.name} does not carry the configuration it is named for"]
        return []

    def activation(self):
        spec, release, current = self.spec, self.release, self.tree.current()
        if current != release:
            return [f"current of {self.name} points at {current or 'nothing'}, not {release}"]
        found = []
        wanted = spec["config"]
        installed = checksums(self.host.installed())
        for name in sorted(set(wanted) | set(installed)):
            path = self.host.host_path(name)
            if name not in installed:
                found.append(f"{path} is missing")
            elif name not in wanted:
                found.append(f"{path} is not in release {release}")
            elif installed[name] != wanted[name]:
                found.append(f"{path} is not the release's {'env file' if name == ENV else 'unit'}")
        entries = self.tree.read_ledger()
        outcome = outcome_of(entries, release)
        if outcome != ACTIVE:
            found.append(f"the ledger has release {release} of {self.name} as {outcome or 'unknown'}, "
                         "not active (its gates did not pass)")
        serves = spec["serves"] or spec["commit"]
        if outcome == ACTIVE and serving(entries, release) != serves:
            found.append(f"{SERVES_DRIFT} {release} of {self.name} serving {serves[:12]}")
        return found

    def units(self):
        kinds = ("service", "socket") if self.spec["socket"] else ("service",)
        return [f"{self.unit}.target"] + [f"{self.unit}@{i}.{kind}" for i in range(1, self.spec["instances"] + 1)
                                          for kind in kinds]

    def leftovers(self):
        """Instances beyond the count that systemd still runs or starts, and with socket=false
        sockets still listening: an instance they start again would take its port from systemd."""
        _rc, out, _err = self.module.run_command(
            ["systemctl", "list-units", "--all", "--plain", "--no-legend", f"{self.unit}@*"])
        found = []
        for line in out.splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            name, active = fields[0], fields[2]
            index, _dot, kind = name[len(self.unit) + 1:].partition(".")
            if not index.isdigit() or active in ("inactive", "failed"):
                continue
            if int(index) > self.spec["instances"]:
                found.append(f"{name} is {active} but the catalog has {self.spec['instances']} instances")
            elif kind == "socket" and not self.spec["socket"]:
                found.append(f"{name} is {active}, but the service binds its port itself (socket: false)")
        return found

    def instances(self):
        """Its instances as its gates see them, expecting the release's commit."""
        target = gate_target(self.spec, self.spec["commit"])
        return [Instance(self.module, index, target) for index in range(1, self.spec["instances"] + 1)]


def systemd_drift(module, units):
    """Units not enabled, and units whose files changed since systemd loaded them."""
    if not units:
        return []
    found = []
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
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            "services": {"type": "list", "elements": "dict", "required": True, "options": SERVICE_OPTIONS},
            "host_directories": {"type": "list", "elements": "dict", "default": [], "options": PATH_OPTIONS},
            "host_files": {"type": "list", "elements": "dict", "default": [],
                           "options": {**PATH_OPTIONS, "checksum": {"type": "str", "required": True}}},
            "host_enabled": {"type": "list", "elements": "str", "default": []},
            "address": {"type": "str", "default": "127.0.0.1"},
            "root": {"type": "path", "default": "/opt/pakashop"},
            "ledger_dir": {"type": "path", "default": "/var/lib/pakashop/ledger"},
            "config_dir": {"type": "path", "default": "/etc/pakashop"},
            "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
        },
        supports_check_mode=True,
    )
    params = module.params
    host = []
    for wanted in params["host_directories"]:
        host += path_drift(wanted, stat.S_ISDIR, "folder")
    for wanted in params["host_files"]:
        host += path_drift(wanted, stat.S_ISREG, "file", checksum=module.sha1)
    drifts = [Drift(module, spec) for spec in params["services"]]
    # One systemctl call each for the enabled states and the reload flags of every unit.
    systemd = systemd_drift(module, params["host_enabled"] + [u for d in drifts for u in d.units()])
    host += [line for line in systemd if line.split()[0] in params["host_enabled"]]
    read = []
    for drift in drifts:
        layout, preparation = drift.layout(), drift.preparation()
        found = layout + preparation
        # The rest says what an activation would change; only worth reading once the release is there.
        if not preparation:
            found += drift.activation()
            found += [line for line in systemd if line.split()[0].startswith(f"{drift.unit}.")
                      or line.split()[0].startswith(f"{drift.unit}@")]
            found += drift.leftovers()
        read.append((drift, found, layout, preparation))
    # The health last, for what the files and systemd cannot tell: the instances of every
    # service without drift so far, in one probe.
    probed = [(found, drift.instances()) for drift, found, _layout, _preparation in read if not found]
    probe_all([instance for _found, instances in probed for instance in instances])
    for found, instances in probed:
        found += [instance.verdict() for instance in instances if instance.gate]
    results = []
    for drift, found, layout, preparation in read:
        restarts = any(not line.startswith(SERVES_DRIFT) for line in found)
        results.append({"service": drift.name, "drift": found, "converged": not found, "laid_out": not layout,
                        "prepared": not preparation, "restarts": restarts})
    module.exit_json(changed=False, services=results, host=host,
                     converged=not host and all(r["converged"] for r in results))


if __name__ == "__main__":
    main()
