# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: service_instances
short_description: The unit instances of a host's services, with the port and health path of each
version_added: 0.1.0
description:
  - Expands the catalog entries of the given services into one item per template-unit
    instance C(pakashop-<service>@<i>), listening on port + I(i) - 1.
  - Services the catalog does not have are left out.
positional: _input, services
options:
  _input:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
  services:
    description: The services to expand, for example a host's C(pakashop_services).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Ask each instance on this host for its health
  ansible.builtin.uri:
    url: "http://127.0.0.1:{{ item.port }}{{ item.health_path }}"
  loop: "{{ pakashop_service_catalog | pakashop.infra.service_instances(pakashop_services) }}"
"""

RETURN = r"""
_value:
  description: One item per instance, in the order of O(services).
  type: list
  elements: dict
  contains:
    service:
      description: The service's name.
      type: str
    unit:
      description: The instance's unit, C(pakashop-<service>@<i>).
      type: str
    port:
      description: The port it listens on.
      type: int
    health_path:
      description: The path of its health check.
      type: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instances


def service_instances(catalog, services):
    if not isinstance(catalog, dict):
        raise AnsibleFilterError("service_instances expects the service catalog (a mapping)")
    return [{k: i[k] for k in ("service", "unit", "port", "health_path")}
            for name in services if name in catalog for i in instances(catalog, name)]


class FilterModule:
    def filters(self):
        return {"service_instances": service_instances}
