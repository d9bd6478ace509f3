# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: service_order
short_description: The catalog's services, each after the services it is ordered C(after)
version_added: 0.1.0
description:
  - Orders the keys of the service catalog so that every service comes after the
    services named in its C(after) list (a topological order, ties kept in catalog order).
  - Fails with the names involved when C(after) names an unknown service or forms a cycle.
positional: _input
options:
  _input:
    description:
      - The service catalog, C(pakashop_service_catalog) (a mapping of every service),
        not a host's list of services C(pakashop_services).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Say the order the catalog's services deploy in
  ansible.builtin.debug:
    msg: "{{ pakashop_service_catalog | pakashop.infra.service_order }}"
"""

RETURN = r"""
_value:
  description: Service names, dependencies first.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import CatalogError, order


def service_order(catalog):
    if not isinstance(catalog, dict):
        raise AnsibleFilterError("service_order expects the service catalog (a mapping)")
    try:
        return order(catalog)
    except CatalogError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"service_order": service_order}
