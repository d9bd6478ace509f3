#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_activate
short_description: Activate the releases of a host's services behind their gates, and go back if one fails
version_added: 0.2.0
description:
  - In one call, for each of O(services) - a release that M(pakashop.infra.release_prepare)
    prepared, or with O(services[].rollback=true) an earlier one already on the host - installs the
    release's configuration (its env file, units and port drop-ins, from its C(.pakashop/) folder),
    swaps C(current), reloads systemd once, and restarts the instances in waves behind the gates.
    Code and configuration switch together.
  - "Waves: instance 1 of every service, then instance 2 of every service that has one, and so on;
    never two instances of one service at once. Within a wave, a service waits for the services its
    O(services[].after) names that are in the same call. Each wave is gated as
    M(pakashop.infra.service_health) gates: the unit active, its health answering in the service's name
    with the commit the release was built from, and still so O(settle) seconds later with the same PID."
  - A service whose release is already current and whose configuration is unchanged restarts only its
    instances that do not pass the gates.
  - If a gate fails, every service this call moved goes back to the release it ran before - code and
    configuration - and the instances it restarted restart on it, the failed ones first, through the
    same gates. The ledger records the release as C(failed) at its gate (the others moved with it as
    C(rolled_back)) and the previous one as C(active) again. The module then fails, naming the service,
    the gate, the verdicts and the failed instance's last journal lines.
  - On success each release is recorded C(active) in the ledger with the environment's commit it serves
    (O(services[].serves)), and old releases are pruned (O(keep); never the current one nor the
    previous good one).
  - Instances beyond O(services[].instances), and with O(services[].socket=false) the instances'
    sockets, are stopped and disabled first; their drop-ins go with the configuration.
  - A release made before releases carried their configuration runs with the configuration the host
    has, with a warning. When such a release is left, the host's configuration is first saved into it,
    so that going back to it brings back what it ran with.
  - Holds the host's release lock (C(<root>/.pakashop.lock)) while it works, and finishes its work -
    or its way back - when the controller goes away.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.health_endpoint.gates
  - pakashop.infra.host_paths
  - pakashop.infra.host_paths.config
attributes:
  check_mode:
    support: full
    details: Probes the instances and says what it would install, swap and restart.
  diff_mode:
    support: full
    details: Shows C(current) before and after per service, and each unit file that would change (an env file only as changed, never its content).
  platform:
    platforms: posix
options:
  services:
    description: The services to activate, in the catalog's order.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description: The service's name; its units are C(pakashop-<service>@<i>.service).
        type: str
        required: true
      release:
        description:
          - The release to activate, complete on the host.
          - With O(services[].rollback=true), the release to go back to; by default the newest
            earlier release whose outcome is C(active) in the ledger.
        type: str
      rollback:
        description:
          - Go back to an earlier release; the release left is recorded C(rolled_back).
          - Without O(services[].release), the previous good release from the ledger; a service that the last
            deploy left alone (the ledger's newest entry is a C(serve) of the current release) stays where it is.
        type: bool
        default: false
      serves:
        description: The environment's commit this release serves (recorded in the ledger); by default the commit it was built from.
        type: str
      reason:
        description: Why, recorded in the ledger with the release left (for example the host whose gate failed).
        type: str
      instances:
        description: How many instances the service runs.
        type: int
        default: 1
      after:
        description: Services that, when they are in the same call, restart before this one in each wave.
        type: list
        elements: str
        default: []
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
  actor:
    description: Who ran the change (recorded in the ledger).
    type: str
  ci_run:
    description: The CI run that made the change, when there is one (recorded in the ledger).
    type: str
  keep:
    description: Releases kept per service after a success (at least 2).
    type: int
    default: 5
notes:
  - The role P(pakashop.infra.service#role) calls this module for a deploy, a fast rollback and the
    way back after a failure elsewhere; the playbooks are the usual way to use it.
seealso:
  - module: pakashop.infra.release_prepare
  - module: pakashop.infra.service_health
"""

EXAMPLES = r"""
- name: Activate the api's and the gateway's new releases, in waves behind the gates
  pakashop.infra.release_activate:
    services:
      - {service: api, release: 20261126T104500Z-3f4a276-9c1e2f04, instances: 2, port: 8100, socket: true,
         serves: 3f4a276bb1cc2fe5de1f447a561d014b44dd00da}
      - {service: gateway, release: 20261126T104500Z-3f4a276-77aa01fe, port: 8080, socket: true, after: [api],
         serves: 3f4a276bb1cc2fe5de1f447a561d014b44dd00da}
    actor: "{{ lookup('ansible.builtin.env', 'USER') }}"

- name: Every service of the host back on its previous good release (a fast rollback)
  pakashop.infra.release_activate:
    services:
      - {service: api, rollback: true, instances: 2, port: 8100, socket: true}
      - {service: gateway, rollback: true, port: 8080, socket: true, after: [api]}
"""

RETURN = r"""
services:
  description: Per service, what the call did (or would do, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    service:
      description: The service.
      type: str
    release:
      description: The release it activated (or tried to).
      type: str
    previous:
      description: The release C(current) pointed at before.
      type: str
    commit:
      description: The commit the release was built from, which its instances report.
      type: str
    moved:
      description: Whether C(current) moved.
      type: bool
    configured:
      description: The configuration files installed or removed, by name in the release (C(env), C(units/...)).
      type: list
      elements: str
    restarted:
      description: The units restarted.
      type: list
      elements: str
    outcome:
      description: V(activated), V(restarted) (only unhealthy instances), V(unchanged), V(went_back) or V(failed).
      type: str
restarted:
  description: Every unit restarted, in order, the way back included.
  returned: always
  type: list
  elements: str
verdicts:
  description: One line per instance gated.
  returned: always
  type: list
  elements: str
failed_gates:
  description: The instances that did not pass, each with its unit and gate.
  returned: always
  type: list
  elements: dict
service:
  description: The service whose gate failed.
  returned: failure at a gate
  type: str
gate:
  description: The gate that failed.
  returned: failure at a gate
  type: str
timings:
  description:
    - Where the call's time went, in order - each step (C(probe), C(scale down), C(switch) (configuration
      installed, C(current) swapped, systemd reloaded), C(enable), each wave's restart and gates as
      C(wave <i> - <services>), C(confirm), C(go back)) with its seconds.
  returned: always
  type: list
  elements: dict
  sample: [{step: switch, seconds: 0.31}, {step: "wave 1 - api, moderation", seconds: 1.42}]
went_back:
  description: The services that went back to their previous release, as C(<service>/<release>).
  returned: failure at a gate
  type: list
  elements: str
back_healthy:
  description: Whether every service that went back passed its gates again on the release it went back to
    (a host behind target groups is registered back only then).
  returned: failure at a gate, or when systemd refused to enable a unit
  type: bool
journal:
  description: The last journal lines of the failed instance.
  returned: failure at a gate
  type: list
  elements: str
"""

import os
import signal
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._health import (
    ENDPOINT_ARGUMENT_SPEC, GATE_ARGUMENT_SPEC, Instance, gate_result, gate_target, wait_for_gates, warn_on_journal)
from ansible_collections.pakashop.infra.plugins.module_utils._host_lock import HostLockTimeout, host_lock
from ansible_collections.pakashop.infra.plugins.module_utils._release import (
    ACTIVATING, ACTIVE, FAILED, ROLLED_BACK, ReleaseTree, ledger_entry, listing, outcome_of, previous_good,
    prune_candidates, rollback_target, serving)
from ansible_collections.pakashop.infra.plugins.module_utils._release_config import (
    ENV, HostConfig, release_files, unit_name, write_release_files)
from ansible_collections.pakashop.infra.plugins.module_utils._waves import levels

SERVICE_OPTIONS = {
    **ENDPOINT_ARGUMENT_SPEC,
    "release": {"type": "str"},
    "rollback": {"type": "bool", "default": False},
    "serves": {"type": "str"},
    "reason": {"type": "str"},
    "instances": {"type": "int", "default": 1},
    "after": {"type": "list", "elements": "str", "default": []},
}
ARGUMENT_SPEC = {
    **GATE_ARGUMENT_SPEC,
    "services": {"type": "list", "elements": "dict", "required": True, "options": SERVICE_OPTIONS,
                 "required_if": [("rollback", False, ("release",))]},
    "actor": {"type": "str"},
    "ci_run": {"type": "str"},
    "keep": {"type": "int", "default": 5},
    "root": {"type": "path", "default": "/opt/pakashop"},
    "ledger_dir": {"type": "path", "default": "/var/lib/pakashop/ledger"},
    "config_dir": {"type": "path", "default": "/etc/pakashop"},
    "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
}


class Refusal(Exception):
    """Nothing was changed: the call cannot be carried out as asked."""


class Service:
    """One service of the call: where it is, where it goes, what changes."""

    def __init__(self, module, spec):
        params = module.params
        self.module = module
        self.spec = spec
        self.name = spec["service"]
        self.unit = unit_name(self.name)
        self.tree = ReleaseTree(params["root"], self.name, params["ledger_dir"])
        self.entries = self.tree.read_ledger()
        self.before = self.tree.current()
        self.host = HostConfig(self.name, params["config_dir"], params["unit_dir"])
        self.unprepared = False
        self.target = self.choose_target()
        self.moved = self.target != self.before
        self.meta = self.tree.metadata(self.target)
        self.commit = self.meta.get("commit")
        self.files = release_files(self.tree.path(self.target))
        self.written, self.removed = self.host.install(self.files, check_mode=True) if self.files is not None else ([], [])
        self.restarted = []   # instance indexes restarted on the target
        self.stopped = []     # instance indexes beyond the count, stopped and disabled
        self.socket_changed = any(n.startswith(f"units/{self.unit}@") and ".socket" in n
                                  for n in self.written + self.removed)
        self.outcome = "unchanged"

    def choose_target(self):
        spec, current = self.spec, self.before
        if not spec["rollback"]:
            # In check mode the release may be one that a real run would prepare first.
            self.unprepared = not self.tree.is_complete(spec["release"])
            if self.unprepared and not self.module.check_mode:
                raise Refusal(f"{self.name}: release {spec['release']} is not prepared on the host (missing or "
                              "unfinished): prepare it first (pakashop.infra.release_prepare)")
            return spec["release"]
        target = spec["release"] or rollback_target(self.entries, current)
        if target is not None and target == current and not spec["release"]:
            return current  # the last deploy left this service alone (a `serve` entry): so does a rollback
        complete = [r for r in self.tree.release_ids() if self.tree.is_complete(r)]
        if current is None or target is None or target not in complete:
            where = f"to {spec['release']}: it is not on the host" if spec["release"] else \
                f"from {current or 'nothing'}: no earlier good release"
            raise Refusal(f"{self.name} cannot go back {where}; releases here: {', '.join(complete) or 'none'}")
        return target

    @property
    def reconfigured(self):
        return self.moved or bool(self.written or self.removed)

    def instance(self, index, commit=None, restart_socket=False):
        return Instance(self.module, index, gate_target(self.spec, commit or self.commit, restart_socket=restart_socket))

    def units(self, index):
        return [f"{self.unit}@{index}.service"] + ([f"{self.unit}@{index}.socket"] if self.spec["socket"] else [])

    def record(self, release, action, outcome, **fields):
        params = self.module.params
        meta = self.tree.metadata(release)
        serves = self.spec["serves"] if release == self.target else None
        self.entries.append(ledger_entry(meta, release, action, outcome, actor=params["actor"],
                                         ci_run=params["ci_run"], serves=serves, **fields))

    def save_ledger(self):
        self.tree.write_ledger(self.entries)


class Activation:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.services = [Service(module, spec) for spec in self.params["services"]]
        self.restarted_units = []
        self.verdict_lines = []
        self.warnings = []
        self.timings = []
        self.clock = time.monotonic()
        self.back_healthy = False  # set by go_back

    def timed(self, step):
        """Note the seconds since the last step as `step`'s."""
        now = time.monotonic()
        self.timings.append({"step": step, "seconds": round(now - self.clock, 2)})
        self.clock = now

    # --- systemd ------------------------------------------------------------

    def systemctl(self, *args):
        rc, _out, err = self.module.run_command(["systemctl", *args])
        return (err.strip().splitlines() or [f"exit {rc}"])[-1] if rc else None

    def extra_instances(self, service):
        """Indexes of instances the host has beyond the count (or, with socket=false, whose
        sockets it still has): from their drop-ins and the target's wants."""
        indexes = set()
        for name in service.host.installed():
            for kind in ("service", "socket"):
                marker = f"units/{service.unit}@"
                if name.startswith(marker) and f".{kind}.d/" in name:
                    indexes.add(int(name[len(marker):].split(".", 1)[0]))
        wants = os.path.join(self.params["unit_dir"], f"{service.unit}.target.wants")
        if os.path.isdir(wants):
            for name in os.listdir(wants):
                head = f"{service.unit}@"
                if name.startswith(head) and name.endswith(".service") and name[len(head):-8].isdigit():
                    indexes.add(int(name[len(head):-8]))
        return sorted(i for i in indexes if i > service.spec["instances"])

    def scale_down(self):
        sockets, units = [], []
        for service in self.services:
            service.stopped = self.extra_instances(service)
            units += [f"{service.unit}@{i}.service" for i in service.stopped]
            # A socket first: while it listens, a connection would start its instance again.
            sockets += [f"{service.unit}@{i}.socket" for i in service.stopped]
            if not service.spec["socket"] and f"units/{service.unit}@.socket" in service.host.installed():
                # it leaves socket activation: its instances bind their ports themselves from now on
                sockets += [f"{service.unit}@{i}.socket" for i in range(1, service.spec["instances"] + 1)]
        for group in (sockets, units):
            if group:
                self.systemctl("disable", "--now", "--quiet", *group)

    def enable(self):
        units = [u for s in self.services for u in
                 [f"{s.unit}.target"] + [x for i in range(1, s.spec["instances"] + 1) for x in s.units(i)]]
        rc, out, _err = self.module.run_command(["systemctl", "is-enabled", *units])
        states = out.split()
        disabled = [u for u, state in zip(units, states + ["unknown"] * len(units)) if state != "enabled"]
        error = self.systemctl("enable", "--quiet", *disabled) if disabled else None
        return f"systemd could not enable {', '.join(disabled)} ({error})" if error else None

    def restart(self, instances):
        """Restart instances together, each one's failed state cleared first; {unit: error}."""
        if not instances:
            return {}
        units = [u for i in instances for u in ([i.unit] + ([i.socket_unit] if i.socket_unit else []))]
        self.systemctl("reset-failed", *units)
        # A changed socket unit starts anew with its instance (connections are refused meanwhile).
        fresh = [i for i in instances if i.socket_unit and i.target["restart_socket"]]
        if fresh:
            self.systemctl("stop", *[u for i in fresh for u in (i.unit, i.socket_unit)])
        errors = {}
        # A notify instance is restarted without waiting: its gate waits for READY=1, not systemctl.
        for no_block, group in ((False, [i for i in instances if not i.no_block]),
                                (True, [i for i in instances if i.no_block])):
            flags = ["--no-block"] if no_block else []
            if group and self.systemctl("restart", *flags, *[i.unit for i in group]):
                # one failed start fails the call: say which by asking each
                for instance in group:
                    errors[instance.unit] = self.systemctl("restart", *flags, instance.unit)
        self.restarted_units += [i.unit for i in instances]
        return {unit: e for unit, e in errors.items() if e}

    def gate(self, instances, errors, settled=True):
        """Wait until the instances pass their gates - and, when `settled`, stay so over the stability
        window - or fail; the failed ones."""
        settle = self.params["settle"] if settled else 0
        wait_for_gates([i for i in instances if i.unit not in errors], self.params["timeout"],
                       self.params["interval"], settle)
        wait_for_gates([i for i in instances if i.unit in errors], 0, self.params["interval"], settle)
        for instance in instances:
            if instance.unit in errors:
                instance.gate = instance.gate or "unit"
        failed = [i for i in instances if i.gate]
        if settled or failed:
            if self.params["warn_on_journal"]:
                warn_on_journal(self.module, instances)
            self.verdict_lines += [i.verdict() for i in instances]
        return failed

    # --- the activation -----------------------------------------------------

    def probe_unchanged(self):
        """Which instances of the services that neither move nor change must restart."""
        probes = {(s.name, i): s.instance(i) for s in self.services if not s.reconfigured
                  for i in range(1, s.spec["instances"] + 1)}
        wait_for_gates(list(probes.values()), 0, self.params["interval"], self.params["settle"])
        return {key for key, probe in probes.items() if probe.gate}

    def due(self, service, index, unhealthy):
        return service.reconfigured or (service.name, index) in unhealthy

    def switch(self):
        """Install each moving service's configuration and swap its current; reload systemd."""
        reload_due = False
        for service in self.services:
            if service.moved and service.before and release_files(service.tree.path(service.before)) is None:
                # It predates releases that carry their configuration: keep what it ran with.
                write_release_files(service.tree.path(service.before), service.host.installed())
            if service.files is None:
                self.warnings.append(f"{service.name}: release {service.target} carries no configuration (it was made "
                                     "before releases did): it runs with the configuration the host has")
            else:
                service.host.install(service.files)
                reload_due = reload_due or any(n != ENV for n in service.written + service.removed)
            if service.moved:
                if service.spec["rollback"]:
                    service.record(service.before, "leave", ROLLED_BACK, reason=service.spec["reason"])
                service.record(service.target, "rollback" if service.spec["rollback"] else "activate", ACTIVATING,
                               previous=service.before)
                service.save_ledger()
                service.tree.swap_current(service.target)
        if reload_due:
            self.systemctl("daemon-reload")

    def waves(self, unhealthy):
        """Restart in waves behind the gates; the failed instances of the first wave that fails, or [].

        Within a wave, a level starts once the level before it answers its gates (what `after` asks);
        the whole wave must then stay so over the stability window before the next wave starts, so two
        instances of one service are never out at once."""
        order = levels([(s.name, s.spec["after"]) for s in self.services])
        by_name = {s.name: s for s in self.services}
        for index in range(1, max((s.spec["instances"] for s in self.services), default=0) + 1):
            batches = [[(by_name[name], by_name[name].instance(index, restart_socket=by_name[name].socket_changed))
                        for name in level if by_name[name].spec["instances"] >= index
                        and self.due(by_name[name], index, unhealthy)] for level in order]
            batches = [batch for batch in batches if batch]
            wave = []
            for position, batch in enumerate(batches):
                errors = self.restart([i for _s, i in batch])
                for service, _instance in batch:
                    service.restarted.append(index)
                wave += [i for _s, i in batch]
                last = position == len(batches) - 1
                failed = self.gate(wave if last else [i for _s, i in batch], errors, settled=last)
                if failed:
                    self.timed(f"wave {index} - {', '.join(s.name for b in batches for s, _i in b)}")
                    return failed
            if batches:
                self.timed(f"wave {index} - {', '.join(s.name for b in batches for s, _i in b)}")
        return []

    def confirm(self):
        """Record every release as active (and what it serves); True when the ledger changed."""
        recorded = False
        for service in self.services:
            outcome = outcome_of(service.entries, service.target)
            serves = service.spec["serves"]
            if outcome != ACTIVE or (serves and serving(service.entries, service.target) != serves):
                service.record(service.target, "confirm" if outcome != ACTIVE else "serve", ACTIVE)
                service.save_ledger()
                recorded = True
            service.outcome = "activated" if service.reconfigured else ("restarted" if service.restarted else "unchanged")
            self.prune(service)
        return recorded

    def prune(self, service):
        ids = service.tree.release_ids()
        current = service.tree.current()
        protected = {current, previous_good(service.entries, current)}
        unfinished = {r for r in ids if not service.tree.is_complete(r)}
        for release in prune_candidates(ids, service.entries, self.params["keep"], protected, unfinished):
            service.tree.remove(release)

    # --- the way back ---------------------------------------------------------

    def go_back(self, failed, why=None):
        """Every service this call moved goes back to what it ran before; returns a sentence.
        `failed`: the instances whose gate failed (their service's release is recorded failed),
        or none, with `why` the call could not go on (systemd refused to enable a unit)."""
        failed_service = next((s for s in self.services if failed and s.unit == failed[0].unit.split("@")[0]), None)
        gate = failed[0].gate if failed else None
        movers = [s for s in self.services if s.moved and s.before]
        reload_due = False
        for service in movers:
            if service is failed_service:
                service.record(service.target, "leave", FAILED, failed_gate=gate, reason=service.spec["reason"])
            else:
                service.record(service.target, "leave", ROLLED_BACK, reason=why or (
                    f"went back with {failed_service.name}, whose gate '{gate}' failed"))
            service.record(service.before, "rollback", ACTIVATING, previous=service.target)
            service.save_ledger()
            files = release_files(service.tree.path(service.before))
            if files is not None:
                written, removed = service.host.install(files)
                reload_due = reload_due or any(n != ENV for n in written + removed)
            service.tree.swap_current(service.before)
            service.outcome = "went_back"
        if failed_service and failed_service.moved and not failed_service.before:
            failed_service.outcome = "failed"
        if reload_due:
            self.systemctl("daemon-reload")
        if not movers:
            return "Could not go back: nothing ran before this release."
        # The failed instances first (they serve nothing), then the rest wave by wave.
        failed_units = {i.unit for i in failed}
        plan = [[(s, i) for s in movers for i in s.restarted + s.stopped if f"{s.unit}@{i}.service" in failed_units]]
        for index in range(1, max(s.spec["instances"] for s in movers) + 1):
            plan.append([(s, index) for s in movers if index in s.restarted + s.stopped
                         and f"{s.unit}@{index}.service" not in failed_units])
        unwell = []
        for step in plan:
            if not step:
                continue
            instances = [s.instance(i, commit=s.tree.metadata(s.before).get("commit"), restart_socket=True
                                    if s.socket_changed else False) for s, i in step]
            for service, index in step:
                if index in service.stopped:
                    self.systemctl("enable", "--quiet", *service.units(index))
            unwell += self.gate(instances, self.restart(instances))
        for service in movers:
            if not any(i.unit.startswith(f"{service.unit}@") for i in unwell):
                service.record(service.before, "confirm", ACTIVE)
                service.save_ledger()
        back = ", ".join(f"{s.name} to {s.before}" for s in movers)
        self.back_healthy = not unwell
        if unwell:
            return (f"Went back ({back}), but it is not healthy either: "
                    + "; ".join(i.verdict() for i in unwell))
        return f"Went back ({back}), which is serving and healthy again."

    def journal(self, unit):
        _rc, out, _err = self.module.run_command(["journalctl", "--unit", unit, "--lines", "15", "--no-pager",
                                                  "--output", "short-iso"])
        return out.splitlines()

    # --- what is said ---------------------------------------------------------

    def summary(self):
        return [{"service": s.name, "release": s.target, "previous": s.before, "commit": s.commit, "moved": s.moved,
                 "configured": s.written + s.removed,
                 "restarted": [f"{s.unit}@{i}.service" for i in s.restarted], "outcome": s.outcome}
                for s in self.services]

    def diff(self):
        diffs = []
        for s in self.services:
            if s.moved:
                diffs.append({"before_header": f"{s.name}: current", "after_header": f"{s.name}: current",
                              "before": f"{s.before}\n", "after": f"{s.target}\n" + (
                                  "(not prepared yet: release_prepare's diff shows its configuration)\n"
                                  if s.unprepared else "")})
            present = s.host.installed()
            for name in s.written + s.removed:
                header = s.host.host_path(name)
                if name == ENV:
                    diffs.append({"before_header": header, "after_header": header,
                                  "before": "(the env file of the release left: its content is secret)\n",
                                  "after": "(the env file of the new release: its content is secret)\n"})
                else:
                    diffs.append({"before_header": header, "after_header": header,
                                  "before": present.get(name, ""), "after": (s.files or {}).get(name, "")})
        return diffs


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if module.params["keep"] < 2:
        module.fail_json(msg="keep must be at least 2: the current release and the one a rollback goes back to")
    # The controller may go away mid-call: finish the activation (or the way back) regardless.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with host_lock(module.params["root"]):
            run(module)
    except (Refusal, HostLockTimeout) as exc:
        module.fail_json(msg=str(exc), changed=False)


def run(module):
    activation = Activation(module)
    unhealthy = activation.probe_unchanged()
    activation.timed("probe")
    diff = activation.diff() if module._diff else None
    changing = [s for s in activation.services if s.reconfigured or any(k[0] == s.name for k in unhealthy)]
    if module.check_mode:
        for s in activation.services:
            unwell = any(k[0] == s.name for k in unhealthy)
            s.outcome = "activated" if s.reconfigured else ("restarted" if unwell else "unchanged")
            s.restarted = [i for i in range(1, s.spec["instances"] + 1) if activation.due(s, i, unhealthy)]
        module.exit_json(changed=bool(changing), services=activation.summary(), diff=diff,
                         restarted=[f"{s.unit}@{i}.service" for s in activation.services for i in s.restarted],
                         verdicts=activation.verdict_lines, failed_gates=[])
    activation.scale_down()
    activation.timed("scale down")
    activation.switch()
    activation.timed("switch")
    refused = activation.enable()
    activation.timed("enable")
    if refused:
        back = activation.go_back([], why=refused)
        module.fail_json(msg=f"{refused}; check the units with systemctl status. {back}", changed=True,
                         back_healthy=activation.back_healthy,
                         services=activation.summary(), restarted=activation.restarted_units,
                         timings=activation.timings)
    failed = activation.waves(unhealthy)
    for warning in activation.warnings:
        module.warn(warning)
    if failed:
        journal = activation.journal(failed[0].unit)
        back = activation.go_back(failed)
        activation.timed("go back")
        result = gate_result(failed)
        service = failed[0].unit.split("@")[0][len("pakashop-"):]
        module.fail_json(
            msg=f"{service}: gate '{failed[0].gate}' failed for release "
                f"{next(s.target for s in activation.services if s.name == service)}. {back} "
                + " ".join(result["verdicts"]) + " Last journal lines of " + failed[0].unit + ": "
                + " | ".join(journal[-8:]),
            changed=True, service=service, gate=failed[0].gate, journal=journal,
            went_back=[f"{s.name}/{s.before}" for s in activation.services if s.outcome == "went_back"],
            back_healthy=activation.back_healthy,
            services=activation.summary(), restarted=activation.restarted_units,
            failed_gates=result["failed_gates"], verdicts=activation.verdict_lines, diff=diff,
            timings=activation.timings)
    recorded = activation.confirm()
    activation.timed("confirm")
    module.exit_json(changed=bool(changing) or recorded, timings=activation.timings,
                     services=activation.summary(), restarted=activation.restarted_units,
                     verdicts=activation.verdict_lines, failed_gates=[], diff=diff,
                     releases={s.name: listing(s.tree, s.entries, s.tree.current()) for s in activation.services})


if __name__ == "__main__":
    main()
