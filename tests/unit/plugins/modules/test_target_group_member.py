"""target_group_member against moto's ELBv2 (in process): deregister and wait
for draining, register and wait for healthy, check mode and diff, and the
sentences a user gets for an unknown group, a denied call and a timeout. Real
AWS keeps a deregistered target `draining` for a while (moto drops it at once):
a stand-in client plays that part."""

import json

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from botocore.exceptions import ClientError
from moto import mock_aws

from ansible_collections.pakashop.infra.plugins.modules import target_group_member

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0]
        elbv2 = boto3.client("elbv2", region_name=REGION)
        group = elbv2.create_target_group(Name="pakashop-staging-gateway", Protocol="HTTP", Port=8080,
                                          VpcId=vpc, TargetType="instance")["TargetGroups"][0]
        yield {"elbv2": elbv2, "instance": instance["InstanceId"], "arn": group["TargetGroupArn"]}


def run(capsys, check_mode=False, diff=False, **args):
    args = {"region": REGION, "poll_interval": 0.01, "timeout": 5, **args,
            "_ansible_check_mode": check_mode, "_ansible_diff": diff}
    with patch_module_args(args), pytest.raises(SystemExit):
        target_group_member.main()
    return json.loads(capsys.readouterr().out)


def members(aws):
    return {d["Target"]["Id"]: d["TargetHealth"]["State"]
            for d in aws["elbv2"].describe_target_health(TargetGroupArn=aws["arn"])["TargetHealthDescriptions"]}


def test_register_puts_the_instance_in_and_waits_until_healthy(aws, capsys):
    result = run(capsys, instance_id=aws["instance"], target_groups=["pakashop-staging-gateway"])
    assert result["changed"] is True, result
    assert members(aws) == {aws["instance"]: "healthy"}
    assert result["target_groups"] == [{"name": "pakashop-staging-gateway", "arn": aws["arn"],
                                        "before": "unused", "after": "healthy", "reason": ""}]
    assert result["msg"] == f"{aws['instance']} registered in pakashop-staging-gateway and healthy"
    again = run(capsys, instance_id=aws["instance"], target_groups=[aws["arn"]])
    assert again["changed"] is False


def test_deregister_takes_it_out_and_a_second_run_changes_nothing(aws, capsys):
    aws["elbv2"].register_targets(TargetGroupArn=aws["arn"], Targets=[{"Id": aws["instance"]}])
    result = run(capsys, instance_id=aws["instance"], target_groups=[aws["arn"]], state="absent")
    assert result["changed"] is True and members(aws) == {}
    assert result["target_groups"][0]["after"] == "unused"
    assert run(capsys, instance_id=aws["instance"], target_groups=[aws["arn"]], state="absent")["changed"] is False


def test_check_mode_only_describes_and_diff_shows_the_state_it_would_leave(aws, capsys):
    aws["elbv2"].register_targets(TargetGroupArn=aws["arn"], Targets=[{"Id": aws["instance"]}])
    result = run(capsys, check_mode=True, diff=True, instance_id=aws["instance"],
                 target_groups=["pakashop-staging-gateway"], state="absent")
    assert result["changed"] is True
    assert result["msg"] == f"{aws['instance']} would be deregistered from pakashop-staging-gateway"
    assert result["diff"] == {"before": {"pakashop-staging-gateway": "healthy"},
                              "after": {"pakashop-staging-gateway": "unused"}}
    assert members(aws) == {aws["instance"]: "healthy"}


def test_an_unknown_target_group_is_named_before_any_change(aws, capsys):
    result = run(capsys, instance_id=aws["instance"], target_groups=["pakashop-staging-gateway", "nope"],
                 state="present")
    assert result["failed"] is True
    assert result["msg"].startswith("Target group nope does not exist in this region: fix the service's target_groups")
    assert members(aws) == {}


class Draining:
    """AWS's side of a deregistration: `draining` for `polls` reads, then gone."""

    def __init__(self, polls):
        self.polls, self.calls = polls, []

    def describe_target_groups(self, **kwargs):
        return {"TargetGroups": [{"TargetGroupName": "tg", "TargetGroupArn": "arn:aws:elasticloadbalancing:tg"}]}

    def deregister_targets(self, **kwargs):
        self.calls.append("deregister")

    def describe_target_health(self, **kwargs):
        self.calls.append("describe")
        if "deregister" in self.calls and self.polls <= 0:
            return {"TargetHealthDescriptions": []}
        state = "draining" if "deregister" in self.calls else "healthy"
        self.polls -= "deregister" in self.calls
        return {"TargetHealthDescriptions": [{"Target": {"Id": "i-1"}, "TargetHealth": {
            "State": state, "Reason": "Target.DeregistrationInProgress" if state == "draining" else ""}}]}


def test_it_waits_while_aws_reports_the_target_draining(monkeypatch, capsys):
    stand_in = Draining(polls=3)
    monkeypatch.setattr(target_group_member, "client", lambda params, service: stand_in)
    result = run(capsys, instance_id="i-1", target_groups=["tg"], state="absent")
    assert result["changed"] is True and result["target_groups"][0]["after"] == "unused"
    assert stand_in.calls.count("describe") == 1 + 4


def test_a_timeout_names_the_target_group_and_the_last_state(monkeypatch, capsys):
    monkeypatch.setattr(target_group_member, "client", lambda params, service: Draining(polls=10**6))
    result = run(capsys, instance_id="i-1", target_groups=["tg"], state="absent", timeout=0)
    assert result["failed"] is True
    assert result["msg"] == ("i-1 was not drained in target group tg after 0 s: its last state was draining "
                             "(Target.DeregistrationInProgress); raise timeout, or check the target group's "
                             "deregistration delay.")


def test_access_denied_is_one_sentence_naming_the_permission(monkeypatch, capsys):
    class Denied:
        def describe_target_groups(self, **kwargs):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DescribeTargetGroups")
    monkeypatch.setattr(target_group_member, "client", lambda params, service: Denied())
    result = run(capsys, instance_id="i-1", target_groups=["tg"])
    assert result["msg"] == (f"Access denied to elasticloadbalancing:DescribeTargetGroups in region {REGION} "
                             "(AccessDenied): grant it to the identity in use (see the README's AWS section), "
                             "or change aws_profile or the keys.")
