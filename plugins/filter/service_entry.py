# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: service_entry
short_description: One service's catalog entry with every default applied
version_added: 0.1.0
description:
  - The entry of O(service) in the service catalog, with the defaults the collection applies
    (C(instances) 1, C(health_path) C(/healthz), C(identity_field) C(service), C(version_field)
    C(version), empty C(env), C(secrets), C(after), C(upstreams), C(limits), C(hardening), C(socket)
    true), so
    that no playbook restates a default.
positional: _input, service
options:
  _input:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
  service:
    description: The service's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Ask the api's instances for their health
  pakashop.infra.service_health:
    service: api
    instances: "{{ (pakashop_service_catalog | pakashop.infra.service_entry('api')).instances }}"
    port: "{{ (pakashop_service_catalog | pakashop.infra.service_entry('api')).port }}"
"""

RETURN = r"""
_value:
  description: The entry, defaults applied.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import entry


def service_entry(catalog, service):
    if not isinstance(catalog, dict) or service not in catalog:
        raise AnsibleFilterError(f"the catalog (pakashop_service_catalog) has no service {service!r}")
    return entry(catalog, service)


class FilterModule:
    def filters(self):
        return {"service_entry": service_entry}
