"""The gateway behind a load balancer's target group (issue 14, item 4): each
host leaves the target group and drains before its gateway restarts, comes
back once its gates pass and waits for healthy, one host at a time even when
the batch holds both; a release that fails its gate leaves the host in the
target group on the previous release. The ELBv2 calls go through a recording
proxy in front of the lab's local endpoint (moto)."""

import json
from datetime import datetime

import boto3
import pytest

from conftest import CHECKOUT
from elb_recorder import Recorder

GROUP = "pakashop-staging-gateway"
GOOD_GATEWAY = (CHECKOUT / "examples/backend/gateway/main.py").read_text()
CREDENTIALS = {"region_name": "eu-west-1", "aws_access_key_id": "lab", "aws_secret_access_key": "lab"}


@pytest.fixture(scope="module")
def recorder(staging):
    proxy = Recorder(staging.config["ec2"]["endpoint"])
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def instances(staging):
    ec2 = boto3.client("ec2", endpoint_url=staging.config["ec2"]["endpoint"], **CREDENTIALS)
    found = {t["Value"]: i["InstanceId"]
             for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])[
                 "Reservations"] for i in r["Instances"] for t in i.get("Tags", []) if t["Key"] == "Name"}
    return {name: found[name] for name in staging.names("staging") if "gateway" in staging.by_name(name).services}


def members(lab):
    elbv2 = boto3.client("elbv2", endpoint_url=lab.config["ec2"]["endpoint"], **CREDENTIALS)
    arn = elbv2.describe_target_groups(Names=[GROUP])["TargetGroups"][0]["TargetGroupArn"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"]
            for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]}


def deploy(lab, recorder, *args):
    recorder.clear()
    return lab.playbook("deploy.yml", "-l", "staging", "-e", "services=gateway", "-e", "deploy_serial=2",
                        "-e", json.dumps({"pakashop_gateway_target_groups": [GROUP]}), *args,
                        env={"PAKASHOP_LAB_EC2_URL": recorder.url})


def utc_epoch(stamp):
    return datetime.strptime(stamp + " +0000", "%a %Y-%m-%d %H:%M:%S.%f UTC %z").timestamp()


def started(lab, name):
    host = lab.host(name)
    pid = host.check_output("systemctl show -p MainPID --value pakashop-gateway@1")
    stamp = host.check_output("systemctl show -p ExecMainStartTimestamp --value --timestamp=us+utc "
                              "pakashop-gateway@1")
    return pid, utc_epoch(stamp)


def cycle(calls, instance):
    """Times of: deregister, first answer without the instance after it, register, first healthy after it."""
    deregister = next(c["time"] for c in calls if c["action"] == "DeregisterTargets" and instance in c["targets"])
    drained = next(c["time"] for c in calls if c["action"] == "DescribeTargetHealth" and c["time"] > deregister
                   and c["states"].get(instance, "unused") == "unused")
    register = next(c["time"] for c in calls if c["action"] == "RegisterTargets" and instance in c["targets"]
                    and c["time"] > drained)
    healthy = next(c["time"] for c in calls if c["action"] == "DescribeTargetHealth" and c["time"] > register
                   and c["states"].get(instance) == "healthy")
    return deregister, drained, register, healthy


def assert_one_host_out_at_a_time(cycles):
    spans = sorted((c[0], c[3]) for c in cycles.values())
    for (_start, end), (next_start, _end) in zip(spans, spans[1:]):
        assert end < next_start, f"two hosts were out of {GROUP} at once: {spans}"


@pytest.fixture
def restore_gateway(staging):
    yield
    staging.commit("main", {"gateway/main.py": GOOD_GATEWAY}, "Restore the gateway")
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", "services=gateway")
    assert run.rc == 0, run.output[-3000:]


def test_each_host_drains_restarts_and_turns_healthy_one_at_a_time(staging, recorder, instances):
    lab = staging
    assert set(members(lab)) == set(instances.values())  # lab-up registered every staging gateway
    before = {name: started(lab, name) for name in instances}
    commit = lab.commit("main", {"gateway/main.py": GOOD_GATEWAY + "# behind a load balancer\n"}, "Touch gateway")

    run = deploy(lab, recorder)

    assert run.rc == 0, run.output[-3000:]
    cycles = {}
    for name, instance in instances.items():
        pid, start = started(lab, name)
        assert pid != before[name][0], f"the gateway on {name} did not restart"
        deregister, drained, register, healthy = cycles[name] = cycle(recorder.calls, instance)
        assert deregister < drained < start < register < healthy, (name, cycles[name], start)
        assert lab.serving("gateway")[name] == [commit]
    assert_one_host_out_at_a_time(cycles)
    assert members(lab) == {i: "healthy" for i in instances.values()}


def test_a_redeploy_with_nothing_changed_leaves_the_target_group_alone(staging, recorder, instances):
    run = deploy(staging, recorder)
    assert run.rc == 0, run.output[-3000:]
    assert not [c for c in recorder.calls if c["action"] in ("DeregisterTargets", "RegisterTargets")]
    assert members(staging) == {i: "healthy" for i in instances.values()}


def test_a_failed_gate_leaves_the_host_registered_on_the_previous_release(staging, recorder, instances,
                                                                          restore_gateway):
    lab = staging
    previous = {name: lab.serving("gateway")[name] for name in instances}
    anchor = 'service = Service("gateway"'
    broken = GOOD_GATEWAY.replace(anchor, "Service.health = lambda self: 1 / 0\n" + anchor)
    assert broken != GOOD_GATEWAY
    lab.commit("main", {"gateway/main.py": broken}, "Break the gateway's health")

    run = deploy(lab, recorder)

    assert run.rc != 0
    assert "gate 'health' failed" in run.said
    tried = [name for name, instance in instances.items()
             if any(c["action"] == "DeregisterTargets" and instance in c["targets"] for c in recorder.calls)]
    assert tried, "no host was taken out of the target group"
    cycles = {name: cycle(recorder.calls, instances[name]) for name in tried}
    assert_one_host_out_at_a_time(cycles)
    assert members(lab) == {i: "healthy" for i in instances.values()}
    assert {name: lab.serving("gateway")[name] for name in instances} == previous
