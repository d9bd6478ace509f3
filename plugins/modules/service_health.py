#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_health
short_description: Check the instances of services - unit state, readiness, identity, version, journal
version_added: 0.1.0
description:
  - For each instance C(pakashop-<service>@<i>) of a service, reads the unit's state from
    systemd (C(ActiveState), C(SubState), C(NRestarts), main PID, since when; with O(socket=true)
    also its socket unit's, which must be active), asks whether it is ready the way
    O(readiness) says (the service and the version it reports) and
    collects journal lines of priority O(journal_priority) or worse since O(since) (default
    since the instance last started).
  - With O(readiness=http), asks its HTTP health endpoint (status, latency, the answer's
    O(identity_field) and O(version_field)).
  - With O(readiness=notify), reads what the instance told systemd through sd_notify - C(READY=1), and
    C(STATUS=service=<service> version=<commit>), which systemd keeps as the unit's C(StatusText).
    Gate V(ready) fails while it has not said C(READY=1) (its unit is C(activating)).
  - With O(readiness=command), runs O(readiness_command) on the host as the service's user
    (C(runuser -u pakashop-<service>), in C(/), with only C(PATH), C(PAKASHOP_SERVICE),
    C(PAKASHOP_INSTANCE) and, when the service has a port, the instance's C(PORT) in its
    environment), bounded to 10 seconds. Gate V(ready) fails unless it exits 0; the last line it
    prints is the version.
  - Retries until every instance passes every gate or O(timeout) runs out. An instance
    passes when its unit is active and running, it is ready in the name of
    O(service) (in O(identity_field), so that another service on the port does
    not pass for this one) with the O(expected_version), and it is still so one O(settle)
    later with the same main PID and restart count (it is not crash-looping).
  - Reports one verdict line per instance and, for a failed instance, the gate that failed -
    V(unit), V(restarting), V(health), V(ready), V(identity) or V(version).
  - With O(services), checks several services in one call, as verify and status read a host. Each
    entry says what O(service) and its options say for one service, and the result has one entry per
    service in RV(services).
  - Read-only, as long as O(readiness_command) is; runs in check mode.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.health_endpoint
  - pakashop.infra.health_endpoint.gates
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: Reads only; there is nothing to diff.
  platform:
    platforms: posix
options:
  instances:
    description: How many instances the service runs (checks 1..N).
    type: int
    default: 1
  instance:
    description: Check only this instance.
    type: int
  expected_version:
    description: The version (commit) every instance must report; any version when unset.
    type: str
  fail_on_unhealthy:
    description: Fail the task when an instance does not pass; when false, only report.
    type: bool
    default: true
  services:
    description:
      - Several services to check together, instead of O(service); each is gated as O(service) would be
        with the options of the same name (their defaults too). The gate options (O(timeout), O(settle),
        O(journal_priority), ...) apply to them all.
      - Mutually exclusive with O(service) and O(instance).
    type: list
    elements: dict
    suboptions:
      service:
        description: The service's name.
        type: str
        required: true
      instances:
        description: How many instances it runs (checks 1..N).
        type: int
        default: 1
      port:
        description: The port of its instance 1, as O(port).
        type: int
      readiness:
        description: How its instances say they are ready, as O(readiness).
        type: str
        choices: [http, notify, command]
        default: http
      readiness_command:
        description: As O(readiness_command).
        type: str
      health_path:
        description: As O(health_path).
        type: str
        default: /healthz
      identity_field:
        description: As O(identity_field).
        type: str
        default: service
      version_field:
        description: As O(version_field).
        type: str
        default: version
      socket:
        description: As O(socket).
        type: bool
        default: false
      expected_version:
        description: The version its instances must report; any when unset.
        type: str
      since:
        description: Its journal lines from this time on, as O(since) (which applies when this is unset).
        type: str
"""

EXAMPLES = r"""
- name: Gate - api@2 answers with the new commit
  pakashop.infra.service_health:
    service: api
    instance: 2
    port: 8100
    expected_version: "{{ deploy_commit }}"
    timeout: 30

- name: Gate - the notifications worker (no port) told systemd READY=1 with the new commit
  pakashop.infra.service_health:
    service: notifications
    readiness: notify
    expected_version: "{{ deploy_commit }}"

- name: Gate - a command says whether the mailer is ready, and prints its version
  pakashop.infra.service_health:
    service: mailer
    readiness: command
    readiness_command: /opt/pakashop/mailer/current/bin/ready
    expected_version: "{{ deploy_commit }}"

- name: Every service of the host in one call, reported, not failed
  pakashop.infra.service_health:
    services:
      - {service: api, instances: 2, port: 8100, expected_version: "{{ deploy_commit }}"}
      - {service: notifications, readiness: notify}
    timeout: 0
    fail_on_unhealthy: false
  register: host_health

- name: Report every instance, healthy or not
  pakashop.infra.service_health:
    service: api
    instances: 2
    port: 8100
    timeout: 0
    fail_on_unhealthy: false
  register: api_health
"""

RETURN = r"""
healthy:
  description: Whether every checked instance passed every gate.
  returned: always
  type: bool
verdicts:
  description: One line per instance, readable at a glance.
  returned: always
  type: list
  elements: str
  sample:
    - "pakashop-api@1.service: healthy - active/running, HTTP 200 in 2 ms, version 3f4a276, 0 restarts"
    - "pakashop-api@2.service: gate 'identity' failed - port 8101 is answered by gateway, not api
      (is another service on this port?) (active/running, HTTP 200 in 1 ms, version 3f4a276, 0 restarts)"
failed_gates:
  description: For each instance that did not pass, its unit and the gate that failed.
  returned: always
  type: list
  elements: dict
instances:
  description: Everything read per instance.
  returned: always
  type: list
  elements: dict
  contains:
    unit:
      description: The unit's name.
      type: str
    active_state:
      description: systemd's C(ActiveState).
      type: str
    sub_state:
      description: systemd's C(SubState).
      type: str
    n_restarts:
      description: How often systemd restarted it since it was last started by hand.
      type: int
    main_pid:
      description: The main process's PID (0 when not running).
      type: int
    since:
      description: When it last became active (C(@<unix time>)).
      type: str
    socket_state:
      description:
        - With O(socket=true), the socket unit's C(ActiveState)/C(SubState), for example C(active/listening),
          or C(active/running) while its service runs.
      type: str
    readiness:
      description: How the instance was asked whether it is ready (O(readiness)).
      type: str
    url:
      description: With O(readiness=http), the health endpoint asked.
      type: str
    http_status:
      description: With O(readiness=http), the health endpoint's status code, or null when it did not answer.
      type: int
    latency_ms:
      description: How long the health endpoint took to answer, or the readiness command to exit.
      type: float
    status_text:
      description:
        - With O(readiness=notify), the status the instance told systemd (C(STATUS=), the unit's
          C(StatusText)), for example C(service=notifications version=3f4a2761c0ff...).
      type: str
    job:
      description:
        - With O(readiness=notify), the systemd job still pending on the unit (its start, until
          the instance says C(READY=1)), or null.
      type: str
    command_rc:
      description:
        - With O(readiness=command), the readiness command's exit code (C(124) when it ran past 10 seconds),
          or null when the unit was not active and it was not run.
      type: int
    command_output:
      description:
        - With O(readiness=command), the last line it printed (on standard error when it failed).
      type: str
    identity:
      description:
        - The service the instance named in O(identity_field) (of its health answer, or of its
          sd_notify status), or null when it named none, O(identity_field) is empty or O(readiness=command).
      type: str
    version:
      description:
        - The version the instance reported - in the health answer's O(version_field), in its sd_notify
          status's O(version_field) word, or on the last line of its readiness command.
      type: str
    gate:
      description:
        - The gate that failed (V(unit), V(restarting), V(health), V(ready), V(identity) or V(version)), or null.
      type: str
    journal_count:
      description: Journal lines of the chosen priority or worse since O(since).
      type: int
    journal:
      description: The newest of those lines.
      type: list
      elements: str
services:
  description:
    - With O(services), one entry per service in the order given, each with C(service) (its name),
      C(healthy), C(verdicts), C(failed_gates) and C(instances) as above for its own instances.
      RV(healthy), RV(verdicts), RV(failed_gates) and RV(instances) then cover every service.
  returned: with O(services)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._health import (
    ENDPOINT_ARGUMENT_SPEC, GATE_ARGUMENT_SPEC, Instance, gate_result, wait_for_gates, warn_on_journal)


# What each entry of `services` says about one service: the endpoint, and what to expect.
SERVICE_OPTIONS = {
    **ENDPOINT_ARGUMENT_SPEC,
    "instances": {"type": "int", "default": 1},
    "expected_version": {"type": "str"},
    "since": {"type": "str"},
}


def checked(module):
    """[(service, [Instance])] of what the call checks: O(service) or each of O(services)."""
    params = module.params
    if params["services"] is not None:
        return [(target["service"], [Instance(module, i, target) for i in range(1, target["instances"] + 1)])
                for target in params["services"]]
    indexes = [params["instance"]] if params["instance"] else range(1, params["instances"] + 1)
    return [(params["service"], [Instance(module, i) for i in indexes])]


def main():
    module = AnsibleModule(
        argument_spec={
            **ENDPOINT_ARGUMENT_SPEC,
            **GATE_ARGUMENT_SPEC,
            "service": {"type": "str"},
            "instances": {"type": "int", "default": 1},
            "instance": {"type": "int"},
            "expected_version": {"type": "str"},
            "fail_on_unhealthy": {"type": "bool", "default": True},
            "services": {"type": "list", "elements": "dict", "options": SERVICE_OPTIONS},
        },
        mutually_exclusive=[("service", "services"), ("instance", "services")],
        required_one_of=[("service", "services")],
        supports_check_mode=True,
    )
    params = module.params
    groups = checked(module)
    instances = [i for _name, group in groups for i in group]
    wait_for_gates(instances, params["timeout"], params["interval"], params["settle"])
    if params["warn_on_journal"]:
        warn_on_journal(module, instances)
    result = {"changed": False, **gate_result(instances)}
    result["healthy"] = not result["failed_gates"]
    if params["services"] is not None:
        result["services"] = [{"service": name, **gate_result(group)} for name, group in groups]
        for entry in result["services"]:
            entry["healthy"] = not entry["failed_gates"]
    if result["failed_gates"] and params["fail_on_unhealthy"]:
        module.fail_json(msg="; ".join(
            f"{name}: " + "; ".join(i.verdict() for i in group if i.gate)
            for name, group in groups if any(i.gate for i in group)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
