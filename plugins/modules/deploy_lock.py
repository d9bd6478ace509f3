#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take, release or break an environment's deploy lock
version_added: 0.1.0
description:
  - One run at a time per environment. The lock is an item of a DynamoDB table that every
    runner of the environment shares (on the controller, with conditional writes); it names
    its holder (what runs, who, from where, since when) and a run id, and has a lease.
  - V(state=acquired) takes the lock, waiting up to O(timeout) seconds while another run
    holds it, and starts the lock's keeper, a small process of its own on the controller
    that renews the lease every O(lease)/3 seconds while this C(ansible-playbook) lives and
    releases the lock as soon as it is gone, however the run ended (a failed task, an
    exception, Ctrl-C, SIGTERM or SIGKILL).
  - A lock whose lease ran out (its controller was lost) is taken over with a warning that
    names the dead holder.
  - V(state=released) deletes the lock if it is still this run's (O(run_id)); V(state=broken)
    deletes it whoever holds it.
  - The lock is bookkeeping of the run, not a change to the environment, so taking and
    releasing it report C(changed=false).
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  action:
    description: Runs on the controller as an action plugin, whatever the task's host.
    support: full
  check_mode:
    support: full
    details: Reads the lock and says who holds it; takes, releases and breaks nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - boto3 on the controller
options:
  name:
    description: The lock's name, the environment (C(staging), C(production)).
    type: str
    required: true
  state:
    description: Take the lock, release this run's, or break whatever holds it.
    type: str
    choices: [acquired, released, broken]
    default: acquired
  store:
    description: The DynamoDB table that holds the locks (partition key C(lock_id), type S).
    type: dict
    required: true
    suboptions:
      table:
        description: The table's name.
        type: str
        required: true
      region:
        description: Its AWS region.
        type: str
      endpoint_url:
        description: Another endpoint than AWS's (the lab's local one).
        type: str
      profile:
        description: An AWS profile; by default the standard boto3 chain.
        type: str
      access_key:
        description: An AWS access key id.
        type: str
      secret_key:
        description: Its secret.
        type: str
      session_token:
        description: A session token with them.
        type: str
  what:
    description: What holds the lock, for the holder text (C(deploy of staging at 3f4a276c9e21)).
    type: str
  run_id:
    description: The run's id; V(state=acquired) makes one when not given; V(state=released) needs it.
    type: str
  timeout:
    description: Seconds to wait while another run holds the lock; V(0) tries once.
    type: int
    default: 600
  retry_delay:
    description: Seconds between two tries.
    type: int
    default: 5
  lease:
    description: Seconds a lock outlives a run that can no longer renew it (a lost controller).
    type: int
    default: 60
notes:
  - The lease is compared with the controllers' clocks; keep them in time (NTP), and keep
    O(lease) well above their skew.
seealso:
  - module: pakashop.infra.preflight
"""

EXAMPLES = r"""
- name: Take staging's deploy lock
  pakashop.infra.deploy_lock:
    name: staging
    what: deploy of staging at 3f4a276c9e21
    store:
      table: pakashop-deploy-locks
      region: eu-west-1
  register: lock
  run_once: true
  delegate_to: localhost

- name: Release it
  pakashop.infra.deploy_lock:
    name: staging
    state: released
    run_id: "{{ lock.run_id }}"
    store:
      table: pakashop-deploy-locks
      region: eu-west-1
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
run_id:
  description: The run's id, to release the lock with.
  returned: state=acquired
  type: str
  sample: 4f1c2a9e07bd
holder:
  description: Who holds the lock now, as other runs see it.
  returned: state=acquired, when taken
  type: str
  sample: deploy of staging at 3f4a276c9e21 by ci@runner-3 since 2026-12-01T21:04:11Z
lock:
  description: The lock as found (C(holder), C(run_id), C(acquired_at), C(expires_at)), or null when free.
  returned: always
  type: dict
taken_over:
  description: The expired lock this run took over.
  returned: when a lock whose lease ran out was taken over
  type: dict
waited:
  description: Seconds this run waited for another run's lock.
  returned: state=acquired, when taken
  type: int
  sample: 0
keeper_pid:
  description: The pid of the lock's keeper on the controller.
  returned: state=acquired, when taken
  type: int
released:
  description: Whether this run's lock was deleted.
  returned: state=released
  type: bool
reason:
  description: Why it failed, V(held) (another run held it past O(timeout)) or V(store) (the table cannot be used).
  returned: failure
  type: str
"""
