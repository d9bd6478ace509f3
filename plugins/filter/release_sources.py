# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: release_sources
short_description: Where each service's release comes from - its commit, its content digest, its artifact
version_added: 0.2.0
description:
  - Adds to each service of M(pakashop.infra.git_release_info)'s RV(pakashop.infra.git_release_info#module:sources)
    the path of its artifact in O(artifacts_dir), named by the service and a digest of its content and of
    its catalog's C(build_command), so that an artifact is built once per content and reused by every
    commit that leaves the service alone; and C(build), what M(pakashop.infra.release_artifacts) takes
    to build it (the service, the path, its folders and its C(build_command)).
positional: _input, catalog, artifacts_dir, shared
options:
  _input:
    description: The RV(pakashop.infra.git_release_info#module:sources) of the commit.
    type: dict
    required: true
  catalog:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
  artifacts_dir:
    description: The controller's artifact cache.
    type: path
    required: true
  shared:
    description: The folders every service's release holds (C(pakashop_shared_source_paths)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Each service's source, with its artifact
  ansible.builtin.set_fact:
    deploy_sources: "{{ plan_release.sources | pakashop.infra.release_sources(pakashop_service_catalog, cache ~ '/artifacts', ['common']) }}"
"""

RETURN = r"""
_value:
  description: The sources, each with C(artifact) and C(build) added.
  type: dict
"""

import hashlib
import os

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import entry


def release_sources(sources, catalog, artifacts_dir, shared=None):
    found = {}
    for service, source in sources.items():
        spec = entry(catalog, service)
        build = spec.get("build_command") or ""
        key = hashlib.sha256(f"{source['digest']}\0{build}".encode("utf-8")).hexdigest()[:16]
        artifact = os.path.join(artifacts_dir, f"{service}-{key}.tar.gz")
        found[service] = {**source, "artifact": artifact,
                          "build": {"service": service, "path": artifact, "folders": [spec["source_path"], *(shared or [])],
                                    "build_command": build or None}}
    return found


class FilterModule:
    def filters(self):
        return {"release_sources": release_sources}
