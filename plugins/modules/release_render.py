#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_render
short_description: Render each service's release for a host, configuration and id, on the controller
version_added: 0.3.0
description:
  - For each of O(services), renders what its release carries besides its code - the env file, the
    template unit, the target, the socket unit (with a socket) and each instance's drop-ins - from the
    role's O(templates), and names the release by its content (P(pakashop.infra.release_config#filter)).
  - Renders as the P(ansible.builtin.template#lookup) lookup would, with the task's variables plus C(service_name)
    and C(service_spec) (the catalog entry, defaults applied) for the service at hand, and the lookup's
    C(template_*) variables and C(ansible_managed); but in one task for every service, without a copy of
    every variable for each file.
  - Changes nothing and contacts no host. The result holds the env files, secrets included - give the task
    C(no_log).
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  action:
    description: Runs on the controller as an action plugin, whatever the task's host.
    support: full
  check_mode:
    support: full
  diff_mode:
    support: none
    details: Changes nothing.
  platform:
    platforms: posix
options:
  services:
    description: The services to render, by name.
    type: list
    elements: str
    required: true
  catalog:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
  sources:
    description:
      - What each service's code is made of, by service - C(commit), C(label), C(digest) and C(artifact),
        as playbooks/tasks/build.yml makes them.
    type: dict
    required: true
  templates:
    description:
      - The template of each file, by C(env), C(service), C(target) and C(socket); a name is looked
        for in the role's C(templates/) folder, as the template lookup does.
    type: dict
    required: true
notes:
  - The role pakashop.infra.service calls it from C(tasks/plan.yml); its variables (C(service_unit),
    C(service_hardening), ...) are the templates' too.
seealso:
  - module: pakashop.infra.service_drift
  - module: pakashop.infra.release_prepare
"""

EXAMPLES = r"""
- name: Render each service's release for this host
  pakashop.infra.release_render:
    services: [api, gateway]
    catalog: "{{ pakashop_service_catalog }}"
    sources: "{{ service_sources }}"
    templates: {env: service.env.j2, service: service@.service.j2, target: service.target.j2, socket: service@.socket.j2}
  register: rendered
  no_log: true
"""

RETURN = r"""
releases:
  description:
    - Each service's release by name, as P(pakashop.infra.release_config#filter) returns it - C(release) (its id),
      C(commit), C(artifact), C(env), C(units), C(config) and C(checksums).
  returned: success
  type: dict
  sample: {api: {release: 20261207T040000Z-3f4a276-1c9e04aa, commit: 3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed}}
"""
