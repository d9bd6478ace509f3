# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: source_paths
short_description: The folders of the backend repository each service's release is made of
version_added: 0.2.0
description:
  - For each of O(services), its catalog entry's C(source_path) followed by the shared folders
    (C(pakashop_shared_source_paths)), what M(pakashop.infra.git_release_info)'s O(pakashop.infra.git_release_info#module:sources)
    takes to name each release by its content.
positional: _input, services, shared
options:
  _input:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
  services:
    description: The services.
    type: list
    elements: str
    required: true
  shared:
    description: The folders every service's release holds.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: What each service is made of at the commit
  pakashop.infra.git_release_info:
    repo: "{{ pakashop_repo_url }}"
    branch: main
    sources: "{{ pakashop_service_catalog | pakashop.infra.source_paths(['api', 'gateway'], ['common']) }}"
"""

RETURN = r"""
_value:
  description: The folders of each service, by its name.
  type: dict
"""

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import entry


def source_paths(catalog, services, shared=None):
    return {service: [entry(catalog, service)["source_path"], *(shared or [])] for service in services}


class FilterModule:
    def filters(self):
        return {"source_paths": source_paths}
