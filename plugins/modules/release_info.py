#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_info
short_description: Read the releases of services on a host, and their ledgers
version_added: 0.1.0
description:
  - Reports C(<root>/<service>/) - which release C(current) points at, the one a
    rollback would go back to, every release directory - and the ledger
    C(<ledger_dir>/<service>.json). It never changes anything.
  - With O(services), every service named in one call, as RV(services); verify and status
    read a host this way.
  - A missing or corrupt ledger is reported as rebuilt from the releases directory,
    with a warning; the rebuilt ledger is written by the next change
    M(pakashop.infra.release) makes.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.host_paths
attributes:
  check_mode:
    support: full
    details: Reads only, so it runs in check mode as it does otherwise.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  service:
    description:
      - The service's name; its releases live in C(<root>/<service>).
      - One of O(service) and O(services) is required.
    type: str
  services:
    description:
      - Several services' names, read in one call; the result is RV(services).
    type: list
    elements: str
seealso:
  - module: pakashop.infra.release
"""

EXAMPLES = r"""
- name: What runs, and what could we go back to?
  pakashop.infra.release_info:
    service: api
  register: api_releases

- name: Say it
  ansible.builtin.debug:
    msg: "api runs {{ api_releases.current }}; a rollback goes back to {{ api_releases.rollback_target }}"

- name: Every service of the host in one call
  pakashop.infra.release_info:
    services: [api, gateway, web]
  register: host_releases
"""

RETURN = r"""
current:
  description: The release C(current) points at; null when there is none.
  returned: with O(service)
  type: str
  sample: 20261126T104500Z-3f4a276
serves:
  description:
    - The commit of the backend repository the current release serves - the newest the ledger records
      for it (a release whose folders a later commit left alone serves that commit too), else the commit
      it was built from.
  returned: with O(service)
  type: str
  sample: 9c1e2f04b1cc2fe5de1f447a561d014b44dd00da
previous_good:
  description: The newest release other than the current one whose outcome is C(active).
  returned: with O(service)
  type: str
  sample: 20261120T091500Z-a1b2c3d
rollback_target:
  description:
    - The release a rollback without C(to_release) leaves the service on - RV(previous_good), or
      RV(current) itself when the last deploy left the service alone (its last ledger entry
      serves a newer commit with the same release).
  returned: with O(service)
  type: str
  sample: 20261120T091500Z-a1b2c3d
releases:
  description: Every release directory, oldest first.
  returned: with O(service)
  type: list
  elements: dict
  contains:
    id:
      description: The release id.
      type: str
    commit:
      description: The commit it was built from.
      type: str
    complete:
      description: False while it is being prepared, or when a run was interrupted.
      type: bool
    outcome:
      description: Its latest outcome in the ledger (activating, active, failed, rolled_back), if any.
      type: str
    current:
      description: Whether C(current) points at it.
      type: bool
ledger:
  description: The ledger's entries, oldest first (as rebuilt, when it was missing or corrupt).
  returned: with O(service)
  type: list
  elements: dict
services:
  description: With O(services), one entry per service in the order named, each with C(service)
    (its name) and the keys that O(service) returns (RV(current), RV(serves), RV(previous_good),
    RV(rollback_target), RV(releases), RV(ledger)).
  returned: with O(services)
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._release import (
    ReleaseTree, built_from, listing, previous_good, rollback_target, serving)


def read_service(module, service):
    """What the module returns about one service."""
    tree = ReleaseTree(module.params["root"], service, module.params["ledger_dir"])
    entries = tree.read_ledger()
    for warning in tree.warnings:
        module.warn(warning)
    current = tree.current()
    releases = listing(tree, entries, current)
    return {"service": service, "current": current, "previous_good": previous_good(entries, current),
            "rollback_target": rollback_target(entries, current),
            "serves": serving(entries, current) or built_from(releases), "releases": releases, "ledger": entries}


def main():
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "str"},
            "services": {"type": "list", "elements": "str"},
            "root": {"type": "path", "default": "/opt/pakashop"},
            "ledger_dir": {"type": "path", "default": "/var/lib/pakashop/ledger"},
        },
        mutually_exclusive=[("service", "services")],
        required_one_of=[("service", "services")],
        supports_check_mode=True,
    )
    if module.params["service"]:
        module.exit_json(changed=False, **read_service(module, module.params["service"]))
    module.exit_json(changed=False, services=[read_service(module, s) for s in module.params["services"]])


if __name__ == "__main__":
    main()
