# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: service_gates
short_description: How the instances of services are restarted and gated, from the catalog
version_added: 0.2.0
description:
  - For each of O(services), its name and what M(pakashop.infra.release_activate),
    M(pakashop.infra.service_drift) and M(pakashop.infra.service_health) need to reach and gate its
    instances (C(instances), C(port), C(health_path), C(identity_field), C(version_field), C(socket)),
    with the catalog's defaults applied, and with O(order) the services it restarts after in each wave (C(after)).
positional: _input, services, order
options:
  _input:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
  services:
    description: The services, in the order wanted.
    type: list
    elements: str
    required: true
  order:
    description: Add C(after), which M(pakashop.infra.release_activate) takes and M(pakashop.infra.service_drift) does not.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Every service of the host back on its previous good release
  pakashop.infra.release_activate:
    services: "{{ pakashop_service_catalog | pakashop.infra.service_gates(pakashop_services) | map('combine', {'rollback': true}) }}"
"""

RETURN = r"""
_value:
  description: One mapping per service, in the order of O(services).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import gates


def service_gates(catalog, services, order=True):
    unknown = [s for s in services if not isinstance(catalog, dict) or s not in catalog]
    if unknown:
        raise AnsibleFilterError(f"the catalog (pakashop_service_catalog) has no service {', '.join(map(repr, unknown))}")
    found = [gates(catalog, service) for service in services]
    return found if order else [{k: v for k, v in g.items() if k != "after"} for g in found]


class FilterModule:
    def filters(self):
        return {"service_gates": service_gates}
