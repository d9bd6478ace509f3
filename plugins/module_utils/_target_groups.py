# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to pakashop.infra.target_group_member: target groups by ARN or name,
and an instance's state in one as describe_target_health reports it."""

from __future__ import annotations

# AWS lists a deregistered target as `draining` until its deregistration delay
# is over, then no more; an instance it never had is `unused` when asked by id.
# (moto drops it at once.) Either way, not listed is the same as `unused`.
NOT_REGISTERED = "unused"
LEAVING = "draining"


class TargetGroupError(Exception):
    pass


def resolve(elbv2, given):
    """[{name, arn}] of the target groups `given` (ARNs or names), in that order."""
    groups = []
    for item in given:
        key = "TargetGroupArns" if item.startswith("arn:") else "Names"
        try:
            found = elbv2.describe_target_groups(**{key: [item]})["TargetGroups"]
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "TargetGroupNotFound":
                raise
            found = []
        if not found:
            raise TargetGroupError(f"Target group {item} does not exist in this region: fix the service's "
                                   f"target_groups (a name or an ARN of an existing target group), or the region.")
        groups.append({"name": found[0]["TargetGroupName"], "arn": found[0]["TargetGroupArn"]})
    return groups


def target_state(elbv2, arn, instance):
    """(state, reason) of `instance` in the target group `arn`."""
    for description in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]:
        if description["Target"]["Id"] == instance:
            health = description["TargetHealth"]
            return health["State"], health.get("Reason", "")
    return NOT_REGISTERED, ""


def needs_change(state, current):
    """Whether `state` (present or absent) needs a register or deregister call."""
    if state == "present":
        return current in (NOT_REGISTERED, LEAVING)
    return current not in (NOT_REGISTERED, LEAVING)


def done(state, current):
    """Whether the wait for `state` is over."""
    return current == ("healthy" if state == "present" else NOT_REGISTERED)
