#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: target_group_member
short_description: Take an EC2 instance out of load balancer target groups, or put it back
version_added: 0.1.0
description:
  - With O(state=absent), deregisters the instance O(instance_id) from each target group of
    O(target_groups) and waits until its draining is over (C(describe_target_health) no
    longer lists it, or lists it as V(unused)), so that no request is still on its way to it.
  - With O(state=present), registers it and waits until each target group reports it
    V(healthy).
  - Target groups are named by ARN or by name (resolved with C(describe_target_groups)).
  - Runs on the controller (C(delegate_to=localhost)), with boto3's C(elbv2) client and the
    same connection settings as the inventory plugin.
  - Needs C(elasticloadbalancing:DescribeTargetGroups), C(DescribeTargetHealth),
    C(RegisterTargets) and C(DeregisterTargets).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.aws
attributes:
  check_mode:
    support: full
    details: Only describes the target groups and reports what it would register or deregister.
  diff_mode:
    support: full
    details: The instance's state in each target group, before and after.
  platform:
    platforms: posix
options:
  instance_id:
    description: The EC2 instance id of the host (the inventory's host variable C(ec2_instance_id)).
    type: str
    required: true
  target_groups:
    description: Target groups, by ARN (C(arn:aws:elasticloadbalancing:...)) or by name.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(absent) deregisters the instance and waits for draining to end; V(present) registers
        it and waits for V(healthy).
    type: str
    choices: [absent, present]
    default: present
  wait:
    description: Whether to wait for draining to end (V(absent)) or for V(healthy) (V(present)).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait, for all the target groups together. A target group's deregistration
        delay (300 s by default on AWS) must fit in it.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two C(describe_target_health) calls while waiting.
    type: float
    default: 5
seealso:
  - name: Target groups for your Application Load Balancers
    description: Target states, deregistration delay and health checks.
    link: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html
author:
  - Pakashop Engineering (@pakashop)
"""

EXAMPLES = r"""
- name: Take the host out of the gateway's target group before its restart
  pakashop.infra.target_group_member:
    instance_id: "{{ ec2_instance_id }}"
    target_groups: [pakashop-staging-gateway]
    region: "{{ ec2_region }}"
    state: absent
  delegate_to: localhost

- name: Put it back once its gates have passed, and wait until it is healthy
  pakashop.infra.target_group_member:
    instance_id: "{{ ec2_instance_id }}"
    target_groups:
      - arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/pakashop-staging-gateway/0123456789abcdef
    region: "{{ ec2_region }}"
    state: present
    timeout: 300
  delegate_to: localhost
"""

RETURN = r"""
target_groups:
  description: Each target group with the instance's state in it before and after.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The target group's name.
      type: str
    arn:
      description: Its ARN.
      type: str
    before:
      description: The instance's state before (V(unused) when it was not registered).
      type: str
      sample: healthy
    after:
      description: Its state at the end (what it would be, in check mode or without O(wait)).
      type: str
      sample: unused
    reason:
      description: AWS's reason code for the last state read, when it gave one.
      type: str
      sample: Target.DeregistrationInProgress
msg:
  description: What was done, in one sentence.
  returned: always
  type: str
  sample: i-0abc deregistered from pakashop-staging-gateway and drained
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.pakashop.infra.plugins.module_utils._aws import AWS_ARGUMENT_SPEC, AwsError, client, explain
from ansible_collections.pakashop.infra.plugins.module_utils._target_groups import (
    TargetGroupError, done, needs_change, resolve, target_state)


def main():
    module = AnsibleModule(
        argument_spec={
            **AWS_ARGUMENT_SPEC,
            "instance_id": {"type": "str", "required": True},
            "target_groups": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "choices": ["absent", "present"], "default": "present"},
            "wait": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 600},
            "poll_interval": {"type": "float", "default": 5},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = run(client(p, "elbv2"), p, module.check_mode)
    except (AwsError, TargetGroupError) as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # botocore's errors, without importing botocore here
        if type(exc).__module__.split(".", 1)[0] != "botocore":
            raise
        module.fail_json(msg=explain(exc, "elasticloadbalancing", p["region"], p["endpoint_url"]))
    module.exit_json(**result)


def run(elbv2, p, check_mode):
    instance, state = p["instance_id"], p["state"]
    groups = resolve(elbv2, p["target_groups"])
    for group in groups:
        group["before"] = target_state(elbv2, group["arn"], instance)[0]
    changing = [g for g in groups if needs_change(state, g["before"])]
    if changing and not check_mode:
        call = elbv2.register_targets if state == "present" else elbv2.deregister_targets
        for group in changing:
            call(TargetGroupArn=group["arn"], Targets=[{"Id": instance}])
    goal = "healthy" if state == "present" else "unused"
    for group in groups:
        group["after"] = goal if check_mode or not p["wait"] else group["before"]
    if p["wait"] and not check_mode:
        wait(elbv2, groups, instance, state, p["timeout"], p["poll_interval"])
    names = ", ".join(g["name"] for g in groups)
    verb = {"present": "registered in", "absent": "deregistered from"}[state]
    waited = {"present": " and healthy", "absent": " and drained"}[state] if p["wait"] else ""
    if check_mode:
        msg = f"{instance} would be {verb} {', '.join(g['name'] for g in changing)}" if changing \
            else f"{instance} is already {verb.split()[0]} in {names}"
    else:
        msg = f"{instance} {verb} {names}{waited}"
    return {
        "changed": bool(changing),
        "target_groups": groups,
        "msg": msg,
        "diff": {"before": {g["name"]: g["before"] for g in groups},
                 "after": {g["name"]: g["after"] for g in groups}},
    }


def wait(elbv2, groups, instance, state, timeout, interval):
    deadline = time.monotonic() + timeout
    pending = list(groups)
    while True:
        still = []
        for group in pending:
            group["after"], group["reason"] = target_state(elbv2, group["arn"], instance)
            if not done(state, group["after"]):
                still.append(group)
        if not still:
            return
        if time.monotonic() >= deadline:
            group = still[0]
            what = "drained" if state == "absent" else "healthy"
            reason = f" ({group['reason']})" if group.get("reason") else ""
            raise TargetGroupError(
                f"{instance} was not {what} in target group {group['name']} after {timeout} s: its last state "
                f"was {group['after']}{reason}; raise timeout, or check the target group's "
                f"{'deregistration delay' if state == 'absent' else 'health check'}.")
        pending = still
        time.sleep(interval)


if __name__ == "__main__":
    main()
