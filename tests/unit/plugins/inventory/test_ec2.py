"""pakashop.infra.ec2 against moto's in-process EC2 (the same boto3 calls as AWS)."""

import boto3
import pytest
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from moto import mock_aws

REGION = "eu-west-1"


@pytest.fixture
def ec2(monkeypatch):
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def launch(ec2, name, tags, state="running"):
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = {"Name": name, **tags}
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )["Instances"][0]
    if state == "stopped":
        ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    return instance


def pakashop(env, services):
    return {"Project": "pakashop", "Environment": env, "Services": services}


def inventory(tmp_path, body="hostnames: [tag:Name]\n"):
    source = tmp_path / "ec2.yml"
    source.write_text(f"plugin: pakashop.infra.ec2\nregions: [{REGION}]\n{body}")
    manager = InventoryManager(loader=DataLoader(), sources=[str(source)], parse=False)
    manager.parse_sources(cache=False)
    return manager


def group(manager, name):
    return sorted(h.name for h in manager.groups[name].get_hosts()) if name in manager.groups else []


def test_environments_and_services_become_groups(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging", "gateway,api"))
    launch(ec2, "stg-2", pakashop("staging", "api, Notifications"))
    launch(ec2, "prd-1", pakashop("production", "gateway,api"))
    manager = inventory(tmp_path)
    assert group(manager, "staging") == ["stg-1", "stg-2"]
    assert group(manager, "production") == ["prd-1"]
    assert group(manager, "service_api") == ["prd-1", "stg-1", "stg-2"]
    assert group(manager, "service_notifications") == ["stg-2"]


def test_hostvars_carry_environment_branch_and_services(ec2, tmp_path):
    instance = launch(ec2, "prd-1", pakashop("production", "gateway,api"))
    host = inventory(tmp_path).get_host("prd-1").get_vars()
    assert host["pakashop_environment"] == "production"
    assert host["pakashop_branch"] == "production"
    assert host["pakashop_services"] == ["gateway", "api"]
    assert host["ansible_host"] == instance["PrivateIpAddress"]
    assert host["ec2_instance_id"] == instance["InstanceId"]
    assert host["ec2_region"] == REGION


def test_only_running_instances_of_the_project(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging", "api"))
    launch(ec2, "stg-old", pakashop("staging", "api"), state="stopped")
    launch(ec2, "other", {"Project": "someone-else", "Environment": "staging"})
    assert group(inventory(tmp_path), "all") == ["stg-1"]


def test_unmapped_environment_is_grouped_apart(ec2, tmp_path):
    launch(ec2, "qa-1", pakashop("qa", "api"))
    manager = inventory(tmp_path)
    assert group(manager, "pakashop_unmapped") == ["qa-1"]
    assert "qa" not in manager.groups
    assert manager.get_host("qa-1").get_vars()["pakashop_branch"] is None


def test_environments_option_maps_branches(ec2, tmp_path):
    launch(ec2, "pre-1", pakashop("preview", "api"))
    manager = inventory(tmp_path, "hostnames: [tag:Name]\nenvironments:\n  preview: {branch: 'feature/*'}\n")
    assert group(manager, "preview") == ["pre-1"]
    assert manager.get_host("pre-1").get_vars()["pakashop_branch"] == "feature/*"


def test_unknown_region_fails_with_one_sentence(ec2, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:9")
    with pytest.raises(AnsibleError, match="cannot reach the EC2 endpoint"):
        manager = InventoryManager(loader=DataLoader(), sources=[], parse=False)
        source = tmp_path / "ec2.yml"
        source.write_text(f"plugin: pakashop.infra.ec2\nregions: [{REGION}]\n")
        from ansible.plugins.loader import inventory_loader
        plugin = inventory_loader.get("pakashop.infra.ec2")
        plugin.parse(manager._inventory, DataLoader(), str(source), cache=False)
