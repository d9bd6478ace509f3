#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take, release or break an environment's deploy lock
version_added: 0.1.0
description:
  - One run at a time per environment. The lock names its holder (what runs, who, from where,
    since when) and a run id, and has a lease. It lives in one of two stores (O(store.type)).
  - V(dynamodb), the default, is an item of a DynamoDB table that every runner of the
    environment shares (on the controller, with conditional writes).
  - V(hosts), for environments without AWS, is a record on each of the environment's hosts
    (M(pakashop.infra.deploy_lock_record), a file in a root-only folder, changed by
    compare-and-set under C(flock)); the lock is held when a strict majority of B(all) the
    hosts of the environment's group in the inventory (whatever the run's limit, up or down)
    granted it to this run. So with three or more hosts one may be down, and two runners
    that see different hosts cannot both hold it, as two majorities share a host. A run that
    got less than a majority gives back what it took and tries again like a run that waits.
  - The hosts store reaches the hosts by running C(ansible <the environment's hosts> -i <the
    run's inventory> -m pakashop.infra.deploy_lock_record), the C(ansible) beside this
    C(ansible-playbook), with the run's C(ansible.cfg). So it uses Ansible's own connection
    settings from the inventory and the configuration (not options given on the command line
    such as C(-u) or C(--private-key); put those in the inventory), and the keeper, which
    outlives the playbook, reaches the hosts the same way; the playbooks keep one task per step.
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
  - boto3 on the controller (V(dynamodb))
  - root on the environment's hosts, as their connection or with C(ansible_become) (V(hosts))
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
    description: Where the lock is kept (the inventory's C(pakashop_lock_store)).
    type: dict
    required: true
    suboptions:
      type:
        description:
          - V(dynamodb), a DynamoDB table (partition key C(lock_id), type S), or V(hosts), a
            majority of the environment's hosts (the inventory group named O(name)).
        type: str
        choices: [dynamodb, hosts]
        default: dynamodb
      path:
        description: The root-only folder of the records on each host (V(hosts)).
        type: str
        default: /var/lib/pakashop/locks
      table:
        description: The table's name (V(dynamodb), where it is required).
        type: str
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
  - The lease is compared with the controllers' clocks (the hosts store, too, sends the
    controller's); keep them in time (NTP), and keep O(lease) well above their skew.
  - With the hosts store, an inventory that drops stopped hosts (the EC2 plugin's default
    O(pakashop.infra.ec2#inventory:instance_states)) makes the majority one of the hosts still up; list
    stopped instances too (C(instance_states) V([pending, running, stopping, stopped]), as the
    lab's inventory does), so every runner counts the same hosts.
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

- name: Take it on a majority of staging's hosts instead (no AWS)
  pakashop.infra.deploy_lock:
    name: staging
    store:
      type: hosts
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
hosts:
  description:
    - "The hosts store's record on each host (null when free, C(unreachable: why) when it did not
      answer), when reading the lock (check mode) and when a majority was out of reach."
  returned: O(store.type=hosts), in check mode and on failure for V(quorum)
  type: dict
reason:
  description:
    - Why it failed, V(held) (another run held it past O(timeout)), V(quorum) (fewer than a
      majority of the environment's hosts answered until O(timeout)) or V(store) (the store
      cannot be used).
  returned: failure
  type: str
"""
