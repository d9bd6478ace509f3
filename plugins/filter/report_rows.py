# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: report_rows
short_description: One report row per service of a host, from release and health results
version_added: 0.1.0
description:
  - Joins what P(pakashop.infra.service_health#module) and P(pakashop.infra.release_info#module) read of the
    services of one host, each in one call (their RV(pakashop.infra.service_health#module:services) and
    RV(pakashop.infra.release_info#module:services)), into rows for P(pakashop.infra.status_report#filter).
positional: _input, releases, host, environment
options:
  _input:
    description: The RV(pakashop.infra.service_health#module:services) of one call.
    type: list
    elements: dict
    required: true
  releases:
    description: The RV(pakashop.infra.release_info#module:services) of one call, for the same services.
    type: list
    elements: dict
    required: true
  host:
    description: The host's inventory name.
    type: str
    required: true
  environment:
    description: The host's environment.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Collect this host's rows
  ansible.builtin.set_fact:
    host_report: "{{ health.services | pakashop.infra.report_rows(releases.services, inventory_hostname, pakashop_environment) }}"
"""

RETURN = r"""
_value:
  description: >-
    Rows with environment, service, host, commit (the commit the release serves), built_from (the
    commit it was built from), release, activated_at, actor, healthy, restarts, journal_count, journal
    and verdicts.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.module_utils._release import activation_entry, built_from


def report_rows(health_services, release_services, host, environment):
    health_of = {h.get("service"): h for h in health_services}
    missing = [r["service"] for r in release_services if r["service"] not in health_of]
    if missing:
        raise AnsibleFilterError(f"report_rows: no health result for {', '.join(missing)}")
    rows = []
    for releases in release_services:
        health = health_of[releases["service"]]
        current = releases.get("current")
        activation = activation_entry(releases.get("ledger", []), current) or {}
        instances = health.get("instances", [])
        commit = built_from(releases.get("releases", []))
        rows.append({
            "environment": environment,
            "service": releases["service"],
            "host": host,
            "release": current,
            # what the environment runs: the commit the release serves (its own, or a later one
            # that left the service's folders alone)
            "commit": releases.get("serves") or commit,
            "built_from": commit,
            "activated_at": activation.get("time"),
            "actor": activation.get("actor"),
            "healthy": bool(health.get("healthy")),
            "restarts": sum(i.get("n_restarts", 0) for i in instances),
            "journal_count": sum(i.get("journal_count", 0) for i in instances),
            "journal": [line for i in instances for line in i.get("journal", [])],
            "verdicts": health.get("verdicts", []),
        })
    return rows


class FilterModule:
    def filters(self):
        return {"report_rows": report_rows}
