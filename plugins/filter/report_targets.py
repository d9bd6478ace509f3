# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: report_targets
short_description: What to ask each service of a host for a report, from its releases
version_added: 0.3.0
description:
  - For each service that P(pakashop.infra.release_info#module) read (its RV(pakashop.infra.release_info#module:services)),
    what P(pakashop.infra.service_health#module) takes in its O(pakashop.infra.service_health#module:services) -
    how its instances are gated (from the catalog, defaults applied), the version they must report (the commit
    the current release was built from) and since when its journal counts (the current release's activation).
positional: _input, catalog
options:
  _input:
    description: The RV(pakashop.infra.release_info#module:services) of one call.
    type: list
    elements: dict
    required: true
  catalog:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Check the health of every service since its activation, in one call
  pakashop.infra.service_health:
    services: "{{ host_releases.services | pakashop.infra.report_targets(pakashop_service_catalog) }}"
    timeout: 0
    fail_on_unhealthy: false
"""

RETURN = r"""
_value:
  description: One mapping per service, in the order of the input.
  type: list
  elements: dict
"""

from ansible_collections.pakashop.infra.plugins.filter.service_gates import service_gates
from ansible_collections.pakashop.infra.plugins.module_utils._release import activation_entry, built_from


def report_targets(release_services, catalog):
    targets = service_gates(catalog, [r["service"] for r in release_services], order=False)
    for target, releases in zip(targets, release_services):
        commit = built_from(releases.get("releases", []))
        activation = activation_entry(releases.get("ledger", []), releases.get("current"))
        if commit:
            target["expected_version"] = commit
        if activation and activation.get("time"):
            # journalctl --since takes "2026-12-07 01:02:03 UTC", not ISO 8601's T and Z
            target["since"] = activation["time"].replace("T", " ").replace("Z", " UTC")
    return targets


class FilterModule:
    def filters(self):
        return {"report_targets": report_targets}
