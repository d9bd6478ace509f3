#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rolling_restart
short_description: Restart the instances of services one at a time, each gated on its health
version_added: 0.1.0
description:
  - Enables every instance C(pakashop-<service>@<i>.service) of each of O(services) that is
    not enabled, and restarts them in waves; instance 1 of every service, then instance 2 of every service that
    has one, and so on. A wave is gated as M(pakashop.infra.service_health) gates (unit active and running,
    ready as its O(services[].readiness) says - health answering 200, READY=1 through sd_notify, or a readiness
    command exiting 0 - in the name of the service with its O(services[].expected_version), and still so O(settle)
    seconds later with the same main PID) before the next one starts, so every other
    instance of a service keeps serving while one restarts.
  - An instance of a service with O(services[].readiness=notify) is restarted with C(systemctl restart --no-block),
    so that the gate, not systemctl, waits for it to tell systemd READY=1, and a release that never does fails gate
    V(ready) after O(timeout) instead of holding systemctl until systemd's own start timeout.
  - With one service, the waves are its instances one at a time.
  - Stops at the first wave in which an instance fails a gate and fails with the gate, the
    verdict and the journal's newest lines; later waves are not touched and keep serving.
  - An instance whose process died and that systemd is about to start again (C(auto-restart)) fails
    gate V(restarting) at once, without waiting out O(timeout).
  - A failed instance's socket is stopped (and with it the instance) before the module fails, so that
    new connections are refused and those waiting in its backlog are reset instead of waiting for an
    instance that does not come up; clients such as a gateway then go to another instance. Starting
    the instance again (the role's fallback to the previous release) starts its socket too.
  - With O(only_unhealthy=true) every instance is probed first and only those that do not pass
    are restarted; the others already serve their O(services[].expected_version) and are left alone.
  - Clears an instance's failed state before it restarts it, since systemd refuses to start
    a unit that hit its start limit.
  - For a service with O(services[].socket=true), the instance's socket C(pakashop-<service>@<i>.socket)
    is enabled and gated with it and, unless O(services[].restart_socket=true), stays up while the
    service restarts.
  - In check mode, probes and says which instances it would restart.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.health_endpoint.gates
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: O(ignore:restarted) says which instances were (or would be) restarted.
  platform:
    platforms: posix
options:
  services:
    description: The services whose instances to restart.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description: The service's name; its units are C(pakashop-<service>@<i>.service).
        type: str
        required: true
      instances:
        description: How many instances the service runs (restarts 1..N).
        type: int
        default: 1
      port:
        description:
          - The port of instance 1; instance I(i) listens on C(port) + I(i) - 1.
          - Required with O(services[].readiness=http); a worker without a port has none.
        type: int
      readiness:
        description:
          - How an instance says it is ready, as in M(pakashop.infra.service_health).
          - V(http), its health endpoint on its port answers 200 with its name and version.
          - V(notify), it tells systemd C(READY=1) and C(STATUS=service=<service> version=<commit>) through
            sd_notify (a C(Type=notify) unit); gate V(ready) fails while it has not.
          - V(command), O(services[].readiness_command) exits 0 and prints the version on its last line.
        type: str
        choices: [http, notify, command]
        default: http
      readiness_command:
        description:
          - With O(services[].readiness=command), the shell command that says whether an instance is ready,
            run as in M(pakashop.infra.service_health).
        type: str
      health_path:
        description:
          - With O(services[].readiness=http), the health endpoint's path; it answers a JSON object that holds
            O(services[].identity_field) and O(services[].version_field).
        type: str
        default: /healthz
      identity_field:
        description:
          - The key of the health answer (or, with O(services[].readiness=notify), of the sd_notify status's
            C(key=value) words) whose value must be O(services[].service). Gate V(identity) fails
            when it names another service, which means another service answers on this port, or when
            the answer lacks it. Not read with O(services[].readiness=command).
          - An empty string turns the check off, for a service whose health does not say its name. This
            weakens the gate - any service that answers 200 with the expected version on the port then
            passes for this one.
        type: str
        default: service
      version_field:
        description:
          - The key of the health answer (or of the sd_notify status's words) whose value is the version
            (commit) the instance runs, compared with O(services[].expected_version). It cannot be empty.
            Not read with O(services[].readiness=command), whose command prints the version.
        type: str
        default: version
      expected_version:
        description: The version (commit) each instance must report after its restart.
        type: str
        required: true
      only_unhealthy:
        description: O(only_unhealthy) for this service alone.
        type: bool
      socket:
        description:
          - Whether each instance takes its listening socket from C(pakashop-<service>@<i>.socket).
            Then the socket is enabled with its instance and must be active too (gate V(unit)), and a
            restart restarts the service alone, so new connections wait in the socket's backlog.
        type: bool
        default: false
      restart_socket:
        description:
          - With O(services[].socket), stop each instance's socket with it and start both anew, for a
            socket unit that changed (its port, its backlog) or an instance that bound its port itself
            until now. Connections are refused while the socket is down.
        type: bool
        default: false
  only_unhealthy:
    description: Restart only the instances that do not pass the gates now.
    type: bool
    default: false
seealso:
  - module: pakashop.infra.service_health
"""

EXAMPLES = r"""
- name: Restart the api's two instances in turn on the new commit
  pakashop.infra.rolling_restart:
    services:
      - {service: api, instances: 2, port: 8101, expected_version: "{{ deploy_commit }}"}

- name: Every service of the host back on its commit, instance 1 of each first, then instance 2
  pakashop.infra.rolling_restart:
    services:
      - {service: gateway, port: 8080, expected_version: 3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed}
      - {service: api, instances: 2, port: 8101, expected_version: 3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed}

- name: A worker without a port that tells systemd when it is ready, beside the api
  pakashop.infra.rolling_restart:
    services:
      - {service: api, instances: 2, port: 8101, expected_version: "{{ deploy_commit }}"}
      - {service: notifications, readiness: notify, expected_version: "{{ deploy_commit }}"}

- name: Bring back only the instances that are not serving the commit
  pakashop.infra.rolling_restart:
    services:
      - {service: api, instances: 2, port: 8101, expected_version: "{{ deploy_commit }}"}
    only_unhealthy: true
"""

RETURN = r"""
restarted:
  description: The units restarted (or, in check mode, that would be), in order.
  returned: always
  type: list
  elements: str
  sample: [pakashop-gateway@1.service, pakashop-api@1.service, pakashop-api@2.service]
enabled:
  description: The units that were not enabled and were enabled (or would be, in check mode).
  returned: always
  type: list
  elements: str
verdicts:
  description: One line per instance, after its restart or the first probe.
  returned: always
  type: list
  elements: str
failed_gates:
  description: The instances that did not pass, each with its unit and the gate that failed.
  returned: always
  type: list
  elements: dict
stopped:
  description: The sockets of failed instances that were stopped (with their instances), so that they queue no connections.
  returned: always
  type: list
  elements: str
  sample: [pakashop-api@1.socket]
instances:
  description: Everything read per instance, as M(pakashop.infra.service_health) returns it.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._health import (
    ENDPOINT_ARGUMENT_SPEC, GATE_ARGUMENT_SPEC, Instance, gate_result, wait_for_gates, warn_on_journal)

SERVICE_OPTIONS = {
    **ENDPOINT_ARGUMENT_SPEC,
    "instances": {"type": "int", "default": 1},
    "expected_version": {"type": "str", "required": True},
    "only_unhealthy": {"type": "bool"},
    "restart_socket": {"type": "bool", "default": False},
}


def is_enabled(module, unit):
    return module.run_command(["systemctl", "is-enabled", "--quiet", unit])[0] == 0


def units_of(instance):
    return [instance.unit] + ([instance.socket_unit] if instance.socket_unit else [])


def restart(module, instance):
    """Restart one instance, its failed state cleared first; systemctl's error, or None.
    Its socket stays, queueing connections, unless it must start anew (restart_socket):
    then both stop, and starting the service starts the socket. A notify instance's
    start does not block: its gate waits for READY=1, bounded by the gate's timeout."""
    module.run_command(["systemctl", "reset-failed", *units_of(instance)])
    no_block = ["--no-block"] if instance.no_block else []
    if instance.socket_unit and instance.target["restart_socket"]:
        rc, _out, err = module.run_command(["systemctl", "stop", *units_of(instance)])
        if not rc:
            rc, _out, err = module.run_command(["systemctl", "start", *no_block, instance.unit])
    else:
        rc, _out, err = module.run_command(["systemctl", "restart", *no_block, instance.unit])
    return (err.strip() or f"systemctl exited {rc}") if rc else None


def stop_sockets(module, failed):
    """Stop the failed instances' sockets (their instances with them: Requires=), so
    that no connection waits on one that does not come up; the sockets stopped."""
    sockets = [i.socket_unit for i in failed if i.socket_unit]
    if sockets:
        module.run_command(["systemctl", "stop", *sockets])
    return sockets


def main():
    module = AnsibleModule(
        argument_spec={
            **GATE_ARGUMENT_SPEC,
            "services": {"type": "list", "elements": "dict", "required": True, "options": SERVICE_OPTIONS},
            "only_unhealthy": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params

    # waves[k]: instance k + 1 of every service that has one
    waves = [[Instance(module, index, target) for target in params["services"] if target["instances"] >= index]
             for index in range(1, max([t["instances"] for t in params["services"]] + [0]) + 1)]
    everyone = [i for wave in waves for i in wave]

    def only_unhealthy(instance):
        own = instance.target["only_unhealthy"]
        return params["only_unhealthy"] if own is None else own

    wait_for_gates([i for i in everyone if only_unhealthy(i) or module.check_mode],
                   0, params["interval"], params["settle"])
    due = [i for i in everyone if i.gate or not only_unhealthy(i)]
    disabled = [u for i in everyone for u in units_of(i) if not is_enabled(module, u)]
    if module.check_mode:
        module.exit_json(changed=bool(due or disabled), restarted=[i.unit for i in due], stopped=[],
                         enabled=disabled, **gate_result(everyone))
    if disabled:
        rc, _out, err = module.run_command(["systemctl", "enable", "--quiet", *disabled])
        if rc:
            module.fail_json(msg=f"systemd could not enable {', '.join(disabled)} "
                                 f"({(err.strip().splitlines() or ['exit ' + str(rc)])[-1]}); "
                                 f"check the units with systemctl status")

    restarted, done = [], []
    for wave in waves:
        started = {i.unit: Instance(module, i.index, i.target) for i in wave if i in due}
        done += [started.get(i.unit, i) for i in wave]
        errors = {unit: restart(module, instance) for unit, instance in started.items()}
        restarted += list(started)
        # One that systemctl could not restart is probed once, not waited for.
        wait_for_gates([i for u, i in started.items() if not errors[u]],
                       params["timeout"], params["interval"], params["settle"])
        wait_for_gates([i for u, i in started.items() if errors[u]], 0, params["interval"], params["settle"])
        for unit, instance in started.items():
            if errors[unit]:
                instance.gate = instance.gate or "unit"
        if params["warn_on_journal"]:
            warn_on_journal(module, started.values())
        failed = [i for i in started.values() if i.gate]
        if failed:
            result = gate_result(failed)
            module.fail_json(msg="; ".join(result["verdicts"]) + "".join(
                f" (systemctl: {errors[i.unit]})" for i in failed if errors[i.unit]),
                changed=True, restarted=restarted, enabled=disabled, stopped=stop_sockets(module, failed),
                **result)
    module.exit_json(changed=bool(restarted or disabled), restarted=restarted, enabled=disabled, stopped=[],
                     **gate_result(done))


if __name__ == "__main__":
    main()
