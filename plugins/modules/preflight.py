#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Check every input of a run before anything changes
version_added: 0.1.0
description:
  - Runs on the controller, once per run, before the deploy lock is taken and before
    any host is touched. Checks the playbook's settings, that the run's hosts belong to
    exactly one environment, the services O(services) names, and the whole service
    catalog for the hosts of that environment.
  - Reports every problem at once, each in one sentence that names the variable, the
    service or host, and the fix. Values of a service's C(env) and C(secrets) are never
    shown.
  - "The catalog rules: service names C(^[a-z][a-z0-9-]*$) of at most 23 characters; the
    keys a service takes (a misspelt key is named, with the likely one); C(port) from 1024
    to 65535, and every instance's port free of every other service's on each host that
    runs both (from the hosts' C(pakashop_services)); C(instances) 1 or more;
    C(exec_start) whose first word is an absolute path; C(readiness) one of C(http) (which
    needs C(port)), C(notify) or C(command) (which needs C(readiness_command), on one line),
    C(readiness_command) only with C(command), C(health_path) only with C(http) and
    starting with C(/), C(identity_field) and C(version_field) not with C(command);
    C(source_path) inside the repository; C(after) and C(upstreams) naming known
    services, without cycles, and upstreams that some host of the environment runs and
    that have a port;
    environment variable names, no NUL in a value, no variable in both C(env) and
    C(secrets), none the collection sets itself; C(limits) and C(hardening) keys that
    systemd knows; C(socket) a boolean, and true only with a C(port); every service a host
    is tagged with present in the catalog."
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
    details: Reads only.
  platform:
    platforms: posix
options:
  procedure:
    description: What the run is (C(deploy), C(rollback), ...); the refusal names it.
    type: str
    required: true
  catalog:
    description: The service catalog, C(pakashop_service_catalog).
    type: raw
  check_catalog:
    description: Whether to check O(catalog) and O(services); a run that changes no service (a hotfix sync) does not.
    type: bool
    default: true
  settings:
    description:
      - The playbook's settings by name, each with its value; a value of C(null) is unset.
      - "Each name has its rule: V(deploy_serial) and V(rollback_serial) a count of hosts of 1
        or more or a percentage from 1% to 100% (or a list of them); V(deploy_max_fail_percentage)
        0 to 100; V(deploy_lock_timeout) 0 or more seconds; V(deploy_lock_retry_delay) and
        V(service_health_timeout) 1 or more; V(deploy_lock_lease) 10 or more;
        V(service_keep_releases) 2 or more; V(revert_parent) 1 or more; V(deploy_lock_break)
        and V(deploy_staging) booleans; V(release_ref) and V(revert) a commit, tag or branch;
        V(to_release) a release id; V(deploy_service_root) an absolute path;
        V(github_repository) and V(pakashop_github_repository) owner/name; V(github_merge) and
        V(verify_frontend) booleans; V(promote_wait) and V(promote_frontend_timeout) 0 or more seconds;
        V(github_api_url) and V(vercel_api_url) an http(s) base URL; V(pakashop_vercel_project) one
        line, or empty (no frontend configured); V(pakashop_lock_store) a mapping that names the lock's DynamoDB C(table), or C({type: hosts})."
    type: dict
    default: {}
  services:
    description: The services the run names (C(-e services=api,gateway)), a comma list or a list; all when empty.
    type: raw
  one_environment:
    description: Whether the run's hosts must belong to exactly one environment.
    type: bool
    default: true
  limited:
    description: Whether the run has a limit (C(ansible_limit is defined)); a run that changes hosts needs one.
    type: bool
    default: true
notes:
  - The hosts are the play's (C(ansible_play_hosts_all)); their environment, branch and services come
    from the inventory variables C(pakashop_environment), C(pakashop_branch) and C(pakashop_services).
seealso:
  - module: pakashop.infra.deploy_lock
"""

EXAMPLES = r"""
- name: Check every input before anything changes
  pakashop.infra.preflight:
    procedure: deploy
    catalog: "{{ pakashop_service_catalog }}"
    services: "{{ services | default(omit) }}"
    limited: "{{ ansible_limit is defined }}"
    settings:
      deploy_serial: "{{ deploy_serial }}"
      deploy_max_fail_percentage: "{{ deploy_max_fail_percentage }}"
      release_ref: "{{ release_ref | default(None) }}"
  register: plan
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
environment:
  description: The environment the run's hosts belong to (when O(one_environment)).
  returned: success
  type: str
  sample: staging
branch:
  description: The branch that environment deploys (C(pakashop_branch)).
  returned: success
  type: str
  sample: main
services:
  description: The services to work on, dependencies first (C(after)).
  returned: success
  type: list
  elements: str
  sample: [api, gateway]
msg:
  description: On failure, every problem found, one sentence each (one per line when there are several).
  returned: always
  type: str
"""
