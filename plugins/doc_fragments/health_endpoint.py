# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """How the instances of a service say they are ready, and how a gate waits
    for them (module_utils/_health.py)."""

    DOCUMENTATION = r"""
options:
  service:
    description:
      - The service's name; its units are C(pakashop-<service>@<i>.service).
      - Required, unless the module takes several services at once (O(services)).
    type: str
  port:
    description:
      - The port of instance 1; instance I(i) listens on O(port) + I(i) - 1.
      - Required with O(readiness=http). A worker that listens on no port has none.
    type: int
  readiness:
    description:
      - How an instance says it is ready.
      - V(http), its health endpoint (O(health_path) on its port) answers 200 with a JSON object
        that names it in O(identity_field) and its version in O(version_field).
      - V(notify), the service tells systemd C(READY=1) through sd_notify (its unit is C(Type=notify),
        C(activating) until then) and its name and version as C(key=value) words of C(STATUS=), for
        example C(STATUS=service=notifications version=3f4a2761c0ff...), which systemd keeps as the
        unit's C(StatusText). Gate V(ready) fails while it has not said C(READY=1).
      - V(command), O(readiness_command) exits 0 and prints the version on its last line; gate
        V(ready) fails when it exits otherwise or runs past 10 seconds.
    type: str
    choices: [http, notify, command]
    default: http
  readiness_command:
    description:
      - With O(readiness=command), the shell command that says whether an instance is ready. It runs
        on the host as the service's user (C(runuser -u pakashop-<service> -- /bin/sh -c ...)), in C(/),
        with C(PATH), C(PAKASHOP_SERVICE), C(PAKASHOP_INSTANCE) (the instance's number) and, when
        O(port) is set, the instance's C(PORT) as its whole environment, at every probe. It must not
        change anything (it runs in check mode too).
    type: str
  health_path:
    description:
      - With O(readiness=http), the health endpoint's path; it answers a JSON object that holds
        O(identity_field) and O(version_field).
    type: str
    default: /healthz
  identity_field:
    description:
      - The key whose value must be O(service) - of the health answer (O(readiness=http); the sample
        services answer with their name in C(service) and their commit in C(version)), or of the
        sd_notify status's C(key=value) words (O(readiness=notify)). Gate V(identity) fails when it
        names another service, which means another service answers on this port, or when the answer
        lacks it. Not read with O(readiness=command).
      - An empty string turns the check off, for a service whose health does not say its name. This
        weakens the gate - any service that answers 200 (with the expected version, when one is set)
        on the port then passes for this one.
    type: str
    default: service
  version_field:
    description:
      - The key whose value is the version (commit) the instance runs, compared with
        O(expected_version) - of the health answer, or of the sd_notify status's words. It cannot
        be empty. Not read with O(readiness=command), whose command prints the version.
    type: str
    default: version
  socket:
    description:
      - Whether each instance takes its listening socket on its port from systemd's
        C(pakashop-<service>@<i>.socket); gate V(unit) then also needs that socket unit active (listening).
        A service without O(port) has no socket.
    type: bool
    default: false
"""

    # How a gate waits, and the journal it reads (service_health, rolling_restart).
    GATES = r"""
options:
  address:
    description: The address the HTTP health endpoints are asked on.
    type: str
    default: 127.0.0.1
  timeout:
    description:
      - Seconds to keep probing before a gate counts as failed; V(0) probes once and reports.
      - A notify instance that has not said C(READY=1) by then fails gate V(ready).
    type: int
    default: 30
  interval:
    description:
      - Seconds between two probes. A probe is also made as an instance's O(settle) window ends, so a gate
        that goes well takes the time to the first good answer plus O(settle).
    type: float
    default: 0.2
  settle:
    description: Seconds a healthy instance must stay up with the same PID and restart count.
    type: float
    default: 1.0
  since:
    description:
      - Journal lines from this time on (any C(journalctl --since) form, for example C(@1795690455)).
      - Default is when each instance last started.
    type: str
  journal_priority:
    description: The least severe journal priority collected.
    type: str
    default: warning
    choices: [emerg, alert, crit, err, warning, notice, info, debug]
  journal_lines:
    description: How many of the newest matching journal lines to return per instance (all are counted).
    type: int
    default: 10
  warn_on_journal:
    description:
      - Warn, with the newest lines, when an instance has journal lines of O(journal_priority)
        or worse since O(since). A service that logs errors but passes its gates is not failed;
        the lines are shown for a person to judge.
    type: bool
    default: true
"""
