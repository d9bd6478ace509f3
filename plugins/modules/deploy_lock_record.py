#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock_record
short_description: One host's record of an environment's deploy lock (the hosts store)
version_added: 0.1.0
description:
  - The host side of the C(hosts) store of M(pakashop.infra.deploy_lock), which runs it on every
    host of the environment and holds the lock when a strict majority of them granted it. Not
    meant for playbooks of their own.
  - The record is a JSON file (holder, run id, when taken, lease expiry) in a folder only root
    can read and write, changed by compare-and-set under C(flock) and replaced atomically
    (a temporary file, then a rename).
  - V(state=acquired) grants the lock when the host has no record, an expired one, or this
    run's (then it renews it); V(state=renewed) extends this run's lease; V(state=released)
    removes this run's record; V(state=broken) removes any; V(state=read) changes nothing.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Says what it would grant and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  name:
    description: The lock's name, the environment.
    type: str
    required: true
  state:
    description: What to do with the record.
    type: str
    choices: [acquired, renewed, released, broken, read]
    required: true
  run_id:
    description: The run's id (needed by V(acquired), V(renewed) and V(released)).
    type: str
  holder:
    description: Who holds the lock, for other runs to read (V(acquired)).
    type: str
  lease:
    description: Seconds the record lasts after O(now) (V(acquired), V(renewed)).
    type: int
    default: 60
  now:
    description: The controller's clock (epoch seconds), which all leases are compared with.
    type: int
    required: true
  path:
    description: The root-only folder of the records.
    type: path
    default: /var/lib/pakashop/locks
notes:
  - Needs root on the host (O(path) is root's).
seealso:
  - module: pakashop.infra.deploy_lock
"""

EXAMPLES = r"""
- name: Read staging's lock record on each host
  pakashop.infra.deploy_lock_record:
    name: staging
    state: read
    now: "{{ now(utc=true).timestamp() | int }}"
"""

RETURN = r"""
granted:
  description: Whether this host granted the operation (for V(read), always false).
  returned: always
  type: bool
before:
  description: The record found (C(run_id), C(holder), C(acquired_at), C(expires_at)), or null.
  returned: always
  type: dict
record:
  description: The record after the operation, or null.
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._lock_record import STATES, update


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": list(STATES), "required": True},
            "run_id": {"type": "str"},
            "holder": {"type": "str"},
            "lease": {"type": "int", "default": 60},
            "now": {"type": "int", "required": True},
            "path": {"type": "path", "default": "/var/lib/pakashop/locks"},
        },
        required_if=[("state", "acquired", ("run_id", "holder")), ("state", "renewed", ("run_id",)),
                     ("state", "released", ("run_id",))],
        supports_check_mode=True)
    params = module.params
    if os.geteuid() != 0:
        module.fail_json(msg=f"the deploy lock's record needs root on the host: connect as root "
                             f"or set ansible_become for the environment's hosts ({params['path']} is root's)")
    try:
        result = update(params["path"], params["name"], params["state"], params["run_id"], params["holder"],
                        params["lease"], params["now"], write=not module.check_mode)
    except OSError as exc:
        module.fail_json(msg=f"the deploy lock's record in {params['path']} cannot be changed: {exc}")
    module.exit_json(changed=result["changed"], granted=result["granted"], before=result["before"],
                     record=result["record"])


if __name__ == "__main__":
    main()
