# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Where the instances of a service answer their health check, and how a gate
    waits for them (module_utils/_health.py)."""

    DOCUMENTATION = r"""
options:
  service:
    description: The service's name; its units are C(pakashop-<service>@<i>.service).
    type: str
    required: true
  port:
    description: The port of instance 1; instance I(i) listens on O(port) + I(i) - 1.
    type: int
    required: true
  health_path:
    description: The health endpoint's path; it answers a JSON object that holds O(identity_field) and O(version_field).
    type: str
    default: /healthz
  identity_field:
    description:
      - The key of the health answer whose value must be O(service) (the sample services answer
        with their name in C(service) and their commit in C(version)). Gate V(identity) fails when
        it names another service, which means another service answers on this port, or when the
        answer lacks it.
      - An empty string turns the check off, for a service whose health does not say its name. This
        weakens the gate - any service that answers 200 (with the expected version, when one is set)
        on the port then passes for this one.
    type: str
    default: service
  version_field:
    description:
      - The key of the health answer whose value is the version (commit) the instance runs,
        compared with O(expected_version). It cannot be empty.
    type: str
    default: version
  socket:
    description:
      - Whether each instance takes its listening socket from systemd's C(pakashop-<service>@<i>.socket);
        gate V(unit) then also needs that socket unit active (listening).
    type: bool
    default: false
"""

    # How a gate waits, and the journal it reads (service_health, rolling_restart).
    GATES = r"""
options:
  address:
    description: The address the health endpoints are asked on.
    type: str
    default: 127.0.0.1
  timeout:
    description: Seconds to keep probing before a gate counts as failed; V(0) probes once and reports.
    type: int
    default: 30
  interval:
    description: Seconds between two probes (a gate takes about O(settle) + O(interval) when all goes well).
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
