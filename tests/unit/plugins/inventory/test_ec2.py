"""pakashop.infra.ec2 against moto's in-process EC2 (the same boto3 calls as AWS)."""

import sys
import time

import boto3
import botocore.client
import botocore.handlers
import pytest
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.utils.display import Display
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse

REGION = "eu-west-1"
OTHER_REGION = "eu-central-1"
IMAGE = "ami-12c6146b"  # moto accepts any image id; describing its catalogue takes seconds


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Credentials from the environment only, nothing from this machine's ~/.aws."""
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL", "AWS_URL",
                "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def ec2(aws_env):
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


@pytest.fixture
def warnings(monkeypatch):
    said = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *a, **k: said.append(msg))
    return said


@pytest.fixture
def api_calls(monkeypatch):
    """Every AWS API call made from now on, by operation name."""
    calls = []
    real = botocore.client.BaseClient._make_api_call

    def recording(client, operation, params):
        calls.append(operation)
        return real(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return calls


def aws_answers(monkeypatch, code, operation="DescribeInstances"):
    """Make AWS answer `operation` with the error `code`."""
    real = botocore.client.BaseClient._make_api_call

    def failing(client, name, params):
        if name == operation:
            raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": f"{code} says no."}}, name)
        return real(client, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", failing)


def launch(ec2, name, tags, state="running", count=1, **kwargs):
    tags = {"Name": name, **tags}
    instances = ec2.run_instances(
        ImageId=IMAGE, MinCount=count, MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        **kwargs)["Instances"]
    if state == "stopped":
        ec2.stop_instances(InstanceIds=[i["InstanceId"] for i in instances])
    return instances[0]


def pakashop(env, services="api", **tags):
    return {"Project": "pakashop", "Environment": env, "Services": services, **tags}


def source(tmp_path, body, regions=f"[{REGION}]"):
    path = tmp_path / "ec2.yml"
    head = "plugin: pakashop.infra.ec2\n" + (f"regions: {regions}\n" if regions else "")
    path.write_text(head + body)
    return path


def inventory(tmp_path, body="hostnames: [tag:Name]\n", cache=False, **kwargs):
    manager = InventoryManager(loader=DataLoader(), sources=[str(source(tmp_path, body, **kwargs))], parse=False)
    manager.parse_sources(cache=cache)
    return manager


def failure(tmp_path, body="", **kwargs):
    """The message of the run's failure, straight from the plugin."""
    manager = InventoryManager(loader=DataLoader(), sources=[], parse=False)
    plugin = inventory_loader.get("pakashop.infra.ec2")
    with pytest.raises(AnsibleError) as raised:
        plugin.parse(manager._inventory, DataLoader(), str(source(tmp_path, body, **kwargs)), cache=False)
    return raised.value.message


def group(manager, name):
    return sorted(h.name for h in manager.groups[name].get_hosts()) if name in manager.groups else []


def hostvars(manager, name):
    return manager.get_host(name).get_vars()


# -- groups and host variables ---------------------------------------------


def test_environments_and_services_become_groups(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging", "gateway,api"))
    launch(ec2, "stg-2", pakashop("Staging ", "api, Notifications"))
    launch(ec2, "prd-1", pakashop("production", "gateway,api"))
    manager = inventory(tmp_path)
    assert group(manager, "staging") == ["stg-1", "stg-2"]
    assert group(manager, "production") == ["prd-1"]
    assert group(manager, "service_api") == ["prd-1", "stg-1", "stg-2"]
    assert group(manager, "service_notifications") == ["stg-2"]


def test_hostvars_carry_environment_branch_services_and_ec2_facts(ec2, tmp_path):
    instance = launch(ec2, "prd-1", pakashop("production", "gateway,api"))
    host = hostvars(inventory(tmp_path), "prd-1")
    assert host["pakashop_environment"] == "production"
    assert host["pakashop_branch"] == "production"
    assert host["pakashop_services"] == ["gateway", "api"]
    assert host["ansible_host"] == instance["PrivateIpAddress"]
    assert host["ec2_instance_id"] == instance["InstanceId"]
    assert host["ec2_region"] == REGION
    assert host["ec2_availability_zone"] == instance["Placement"]["AvailabilityZone"]
    assert host["ec2_private_ip_address"] == instance["PrivateIpAddress"]
    assert host["ec2_public_ip_address"] == instance["PublicIpAddress"]
    assert host["ec2_tags"]["Services"] == "gateway,api"


def test_a_host_without_public_address_has_no_public_ip_variable(ec2, tmp_path):
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    launch(ec2, "stg-1", pakashop("staging"), SubnetId=subnet)
    host = hostvars(inventory(tmp_path), "stg-1")
    assert "ec2_public_ip_address" not in host
    assert host["ansible_host"].startswith("10.9.1.")


def test_hostvars_prefix_renames_the_ec2_variables(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging"))
    host = hostvars(inventory(tmp_path, "hostnames: [tag:Name]\nhostvars_prefix: aws_\n"), "stg-1")
    assert host["aws_ec2_region"] == REGION and "ec2_region" not in host
    assert host["pakashop_environment"] == "staging"


def test_unmapped_environment_is_grouped_apart_with_one_warning(ec2, tmp_path, warnings):
    launch(ec2, "qa-1", pakashop("qa"))
    launch(ec2, "qa-2", pakashop("qa"))
    launch(ec2, "odd-1", {"Project": "pakashop"})
    manager = inventory(tmp_path)
    assert group(manager, "pakashop_unmapped") == ["odd-1", "qa-1", "qa-2"]
    assert "qa" not in manager.groups
    assert hostvars(manager, "qa-1")["pakashop_branch"] is None
    assert len(warnings) == 1
    assert "'qa' (qa-1, qa-2)" in warnings[0] and "none (odd-1)" in warnings[0]


def test_environments_option_maps_branch_patterns(ec2, tmp_path):
    launch(ec2, "pre-1", pakashop("preview"))
    launch(ec2, "stg-1", pakashop("staging"))
    manager = inventory(tmp_path, "hostnames: [tag:Name]\nenvironments:\n  preview: {branch: 'feature/*'}\n")
    assert group(manager, "preview") == ["pre-1"]
    assert hostvars(manager, "pre-1")["pakashop_branch"] == "feature/*"
    assert group(manager, "pakashop_unmapped") == ["stg-1"]


def test_service_that_cannot_be_a_group_is_a_warning(ec2, tmp_path, warnings):
    launch(ec2, "stg-1", pakashop("staging", "api,image-resizer"))
    manager = inventory(tmp_path)
    assert group(manager, "service_api") == ["stg-1"]
    assert not [g for g in manager.groups if "resizer" in g]
    assert hostvars(manager, "stg-1")["pakashop_services"] == ["api", "image-resizer"]
    assert len(warnings) == 1 and "'image-resizer' (stg-1)" in warnings[0]


def test_custom_tag_keys(ec2, tmp_path):
    launch(ec2, "stg-1", {"Team": "shop", "Stage": "staging", "Apps": "api"})
    launch(ec2, "stg-2", pakashop("staging"))
    manager = inventory(tmp_path, "hostnames: [tag:Name]\nproject_tag: {key: Team, value: shop}\n"
                                  "environment_tag: Stage\nservices_tag: Apps\n")
    assert group(manager, "all") == ["stg-1"]
    assert group(manager, "staging") == ["stg-1"] and group(manager, "service_api") == ["stg-1"]


def test_constructed_compose_groups_and_keyed_groups(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging", "api"))
    manager = inventory(tmp_path, "hostnames: [tag:Name]\n"
                                  "compose: {ansible_user: \"'deploy-' ~ pakashop_environment\"}\n"
                                  "groups: {api_hosts: \"'api' in pakashop_services\"}\n"
                                  "keyed_groups: [{key: ec2_region, prefix: region}]\n")
    assert hostvars(manager, "stg-1")["ansible_user"] == "deploy-staging"
    assert group(manager, "api_hosts") == ["stg-1"]
    assert group(manager, "region_eu_west_1") == ["stg-1"]


def test_strict_compose_fails_on_an_undefined_variable(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging"))
    assert "nonexistent" in failure(tmp_path, "strict: true\ncompose: {ansible_user: nonexistent.attr}\n")


# -- selection --------------------------------------------------------------


def test_only_running_instances_of_the_project(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging"))
    launch(ec2, "stg-old", pakashop("staging"), state="stopped")
    launch(ec2, "other", {"Project": "someone-else", "Environment": "staging"})
    assert group(inventory(tmp_path), "all") == ["stg-1"]


def test_instance_states_lists_stopped_hosts_too(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging"))
    launch(ec2, "stg-old", pakashop("staging"), state="stopped")
    manager = inventory(tmp_path, "hostnames: [tag:Name]\ninstance_states: [running, stopped]\n")
    assert group(manager, "all") == ["stg-1", "stg-old"]
    assert hostvars(manager, "stg-old")["ec2_instance_state"] == "stopped"


def test_filters_narrow_the_selection(ec2, tmp_path):
    launch(ec2, "web-1", pakashop("staging", Role="web"))
    launch(ec2, "db-1", pakashop("staging", Role="db"))
    assert group(inventory(tmp_path, "hostnames: [tag:Name]\nfilters: {tag:Role: web}\n"), "all") == ["web-1"]


def test_include_filters_unite_their_queries_and_filters(ec2, tmp_path):
    launch(ec2, "web-1", pakashop("staging", Role="web"))
    launch(ec2, "api-1", pakashop("staging", Role="api"))
    launch(ec2, "db-1", pakashop("staging", Role="db"))
    launch(ec2, "cache-1", pakashop("staging", Role="cache"))
    body = ("hostnames: [tag:Name]\nfilters: {tag:Role: cache}\n"
            "include_filters:\n  - {tag:Role: web}\n  - {tag:Role: [api]}\n")
    assert group(inventory(tmp_path, body), "all") == ["api-1", "cache-1", "web-1"]


def test_exclude_filters_win_whatever_the_state(ec2, tmp_path):
    launch(ec2, "web-1", pakashop("staging", Role="web"))
    launch(ec2, "web-2", pakashop("staging", Role="web", Retiring="true"))
    launch(ec2, "web-3", pakashop("staging", Role="web", Retiring="true"), state="stopped")
    body = ("hostnames: [tag:Name]\ninclude_filters:\n  - {tag:Role: web}\n"
            "  - {tag:Role: web, instance-state-name: stopped}\nexclude_filters:\n  - {tag:Retiring: 'true'}\n")
    assert group(inventory(tmp_path, body), "all") == ["web-1"]


def test_every_listed_region_is_searched(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging"))
    launch(boto3.client("ec2", region_name=OTHER_REGION), "stg-2", pakashop("staging"))
    manager = inventory(tmp_path, regions=f"[{REGION}, {OTHER_REGION}]")
    assert group(manager, "staging") == ["stg-1", "stg-2"]
    assert hostvars(manager, "stg-2")["ec2_region"] == OTHER_REGION


def test_no_regions_means_the_environment_region_only(ec2, tmp_path, aws_env):
    aws_env.setenv("AWS_REGION", OTHER_REGION)
    launch(ec2, "stg-1", pakashop("staging"))
    launch(boto3.client("ec2", region_name=OTHER_REGION), "stg-2", pakashop("staging"))
    assert group(inventory(tmp_path, regions=None), "all") == ["stg-2"]


def test_no_regions_and_no_default_region_fails(ec2, tmp_path):
    message = failure(tmp_path, regions=None)
    assert message.startswith("No AWS region is set") and "regions" in message


def test_every_page_is_read(ec2, tmp_path, monkeypatch, api_calls):
    from ansible_collections.pakashop.infra.plugins.inventory import ec2 as plugin_module

    monkeypatch.setattr(plugin_module, "PAGE_SIZE", 2)
    for n in range(5):
        launch(ec2, f"stg-{n}", pakashop("staging"))
    api_calls.clear()
    assert len(group(inventory(tmp_path), "staging")) == 5
    assert api_calls.count("DescribeInstances") == 3


# -- hostnames ---------------------------------------------------------------


def test_hostnames_default_to_the_private_ip(ec2, tmp_path):
    instance = launch(ec2, "stg-1", pakashop("staging"))
    assert group(inventory(tmp_path, ""), "all") == [instance["PrivateIpAddress"]]


def test_hostnames_with_prefix_and_separator(ec2, tmp_path):
    instance = launch(ec2, "stg-1", pakashop("staging"))
    body = "hostnames:\n  - name: instance-id\n    prefix: tag:Environment\n    separator: '-'\n"
    assert group(inventory(tmp_path, body), "all") == [f"staging-{instance['InstanceId']}"]


def test_duplicate_hostnames_keep_every_host(ec2, tmp_path, warnings):
    first = launch(ec2, "web", pakashop("staging"))
    second = launch(ec2, "web", pakashop("staging"))
    launch(ec2, "api", pakashop("staging"))
    names = group(inventory(tmp_path), "staging")
    assert names == sorted(["api", f"web_{first['InstanceId']}", f"web_{second['InstanceId']}"])
    assert len(warnings) == 1 and "'web'" in warnings[0]


# -- cache -------------------------------------------------------------------

CACHED = ("hostnames: [tag:Name]\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
          "cache_connection: {dir}\n")


def test_a_cache_hit_makes_no_aws_call(ec2, tmp_path, api_calls):
    launch(ec2, "stg-1", pakashop("staging"))
    body = CACHED.format(dir=tmp_path / "cache")
    assert group(inventory(tmp_path, body, cache=True), "all") == ["stg-1"]
    assert "DescribeInstances" in api_calls
    api_calls.clear()
    launch(ec2, "stg-2", pakashop("staging"))
    api_calls.clear()
    manager = inventory(tmp_path, body, cache=True)
    assert group(manager, "all") == ["stg-1"]
    assert hostvars(manager, "stg-1")["pakashop_branch"] == "main"
    assert api_calls == []


def test_flush_cache_reads_ec2_again(ec2, tmp_path):
    launch(ec2, "stg-1", pakashop("staging"))
    body = CACHED.format(dir=tmp_path / "cache")
    inventory(tmp_path, body, cache=True)
    launch(ec2, "stg-2", pakashop("staging"))
    assert group(inventory(tmp_path, body, cache=False), "all") == ["stg-1", "stg-2"]  # --flush-cache
    assert group(inventory(tmp_path, body, cache=True), "all") == ["stg-1", "stg-2"]  # and it was stored


def test_a_changed_selection_is_not_answered_from_the_cache(ec2, tmp_path):
    launch(ec2, "web-1", pakashop("staging", Role="web"))
    launch(ec2, "db-1", pakashop("staging", Role="db"))
    body = CACHED.format(dir=tmp_path / "cache")
    assert group(inventory(tmp_path, body, cache=True), "all") == ["db-1", "web-1"]
    assert group(inventory(tmp_path, body + "filters: {tag:Role: db}\n", cache=True), "all") == ["db-1"]


def test_a_cache_hit_does_not_import_boto3(ec2, tmp_path, monkeypatch):
    launch(ec2, "stg-1", pakashop("staging"))
    body = CACHED.format(dir=tmp_path / "cache")
    inventory(tmp_path, body, cache=True)
    monkeypatch.setitem(sys.modules, "boto3", None)  # importing it now raises ImportError
    assert group(inventory(tmp_path, body, cache=True), "all") == ["stg-1"]


# -- credentials ---------------------------------------------------------------


def test_keys_from_the_inventory_file(ec2, tmp_path, aws_env):
    launch(ec2, "stg-1", pakashop("staging"))
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    body = "hostnames: [tag:Name]\naws_access_key: AKIDEXAMPLE\naws_secret_key: secret\naws_session_token: token\n"
    assert group(inventory(tmp_path, body), "all") == ["stg-1"]


def test_profile_gives_credentials_and_region(ec2, tmp_path, aws_env):
    launch(boto3.client("ec2", region_name=OTHER_REGION), "stg-1", pakashop("staging"))
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    (tmp_path / "aws-config").write_text(f"[profile shop]\nregion = {OTHER_REGION}\n"
                                         "aws_access_key_id = AKIDSHOP\naws_secret_access_key = secret\n")
    assert group(inventory(tmp_path, "hostnames: [tag:Name]\naws_profile: shop\n", regions=None), "all") == ["stg-1"]


def test_keys_from_amazon_aws_environment_names(ec2, tmp_path, aws_env):
    """AWS_ACCESS_KEY and AWS_SECRET_KEY, which boto3 alone does not read, as amazon.aws takes them."""
    launch(ec2, "stg-1", pakashop("staging"))
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    aws_env.setenv("AWS_ACCESS_KEY", "AKIDEXAMPLE")
    aws_env.setenv("AWS_SECRET_KEY", "secret")
    assert group(inventory(tmp_path), "all") == ["stg-1"]


def test_default_profile_from_the_environment(ec2, tmp_path, aws_env):
    launch(boto3.client("ec2", region_name=OTHER_REGION), "stg-1", pakashop("staging"))
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    aws_env.setenv("AWS_DEFAULT_PROFILE", "shop")
    (tmp_path / "aws-config").write_text(f"[profile shop]\nregion = {OTHER_REGION}\n"
                                         "aws_access_key_id = AKIDSHOP\naws_secret_access_key = secret\n")
    assert group(inventory(tmp_path, regions=None), "all") == ["stg-1"]


def test_endpoint_url_from_the_environment(ec2, tmp_path, aws_env):
    aws_env.setenv("AWS_URL", "http://127.0.0.1:9")
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    assert "Cannot reach the EC2 endpoint http://127.0.0.1:9" in failure(tmp_path)


def test_the_inventory_file_wins_over_the_environment(ec2, tmp_path, aws_env):
    aws_env.setenv("AWS_URL", "http://127.0.0.1:9")
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    message = failure(tmp_path, "endpoint_url: http://127.0.0.1:8\n")
    assert "Cannot reach the EC2 endpoint http://127.0.0.1:8" in message and "127.0.0.1:9" not in message


def test_assume_role_lists_the_role_account(ec2, tmp_path):
    launch(ec2, "home-1", pakashop("staging"))
    role = "arn:aws:iam::111111111111:role/pakashop-inventory"
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=role, RoleSessionName="setup")["Credentials"]
    other_account = boto3.client("ec2", region_name=REGION, aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"])
    launch(other_account, "away-1", pakashop("staging"))
    assert group(inventory(tmp_path, f"hostnames: [tag:Name]\nassume_role_arn: {role}\n"), "all") == ["away-1"]


def test_endpoint_url_may_be_a_template(ec2, tmp_path, aws_env):
    aws_env.setenv("PAKASHOP_TEST_EC2_URL", "http://127.0.0.1:9")
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    message = failure(tmp_path, "endpoint_url: \"{{ lookup('ansible.builtin.env', 'PAKASHOP_TEST_EC2_URL') }}\"\n")
    assert "Cannot reach the EC2 endpoint http://127.0.0.1:9" in message


# -- errors: one sentence, the cause, the option ----------------------------------


def test_no_credentials(ec2, tmp_path, aws_env):
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    message = failure(tmp_path)
    assert message.startswith("No AWS credentials were found") and "aws_profile" in message


def test_unknown_profile(ec2, tmp_path):
    message = failure(tmp_path, "aws_profile: nope\n")
    assert "'nope'" in message and "aws_profile" in message


def test_expired_token(ec2, tmp_path, monkeypatch):
    aws_answers(monkeypatch, "ExpiredToken")
    assert failure(tmp_path).startswith("The AWS credentials have expired (ExpiredToken")


def test_access_denied(ec2, tmp_path, monkeypatch):
    aws_answers(monkeypatch, "UnauthorizedOperation")
    message = failure(tmp_path)
    assert message.startswith(f"Access denied to ec2:DescribeInstances in region {REGION}")
    assert "aws_profile or assume_role_arn" in message


def test_role_that_cannot_be_assumed(ec2, tmp_path, monkeypatch):
    aws_answers(monkeypatch, "AccessDenied", operation="AssumeRole")
    message = failure(tmp_path, "assume_role_arn: arn:aws:iam::111111111111:role/nope\n")
    assert message.startswith("Cannot assume role arn:aws:iam::111111111111:role/nope (AccessDenied")


def test_unknown_region_fails_before_any_request(ec2, tmp_path, api_calls):
    message = failure(tmp_path, regions="[eu-wset-1]")
    assert message.startswith("Unknown AWS region 'eu-wset-1': fix regions")
    assert api_calls == []


def test_unreachable_endpoint_fails_fast(ec2, tmp_path, aws_env):
    aws_env.setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:9")
    aws_env.setenv("AWS_MAX_ATTEMPTS", "1")
    started = time.monotonic()
    message = failure(tmp_path)
    assert message == (f"Cannot reach the EC2 endpoint http://127.0.0.1:9/ (region {REGION}): "
                       f"check endpoint_url and that the endpoint is running.")
    assert time.monotonic() - started < 5


THROTTLED = (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
             b"</Message></Error></Errors><RequestID>1</RequestID></Response>")


@pytest.fixture
def throttling(monkeypatch):
    """EC2 answers the first `throttling.times` DescribeInstances requests with
    RequestLimitExceeded, on the wire, so that botocore's retries see it."""
    attempts = []

    def throttle(request, **kwargs):
        attempts.append(request.url)
        if len(attempts) <= throttle.times:
            return AWSResponse(request.url, 400, {}, MockRawResponse(THROTTLED))
        return None  # moto answers

    throttle.times = 0
    throttle.attempts = attempts
    # ahead of moto's own before-send handler, for the sessions the plugin creates
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS",
                        [("before-send.ec2.DescribeInstances", throttle), *botocore.handlers.BUILTIN_HANDLERS])
    return throttle


def test_throttling_is_retried(ec2, tmp_path, throttling):
    launch(ec2, "stg-1", pakashop("staging"))
    throttling.times = 2
    assert group(inventory(tmp_path), "all") == ["stg-1"]
    assert len(throttling.attempts) == 3


def test_throttling_beyond_the_attempts_fails(ec2, tmp_path, throttling, aws_env):
    aws_env.setenv("AWS_MAX_ATTEMPTS", "2")
    throttling.times = 2
    message = failure(tmp_path)
    assert message.startswith(f"EC2 kept throttling DescribeInstances in region {REGION}")
    assert len(throttling.attempts) == 2


def test_traceback_only_with_vvv(ec2, tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(Display, "vvv", lambda self, msg, *a, **k: said.append(msg))
    aws_answers(monkeypatch, "UnauthorizedOperation")
    assert "Traceback" not in failure(tmp_path)
    assert any("Traceback" in m and "UnauthorizedOperation" in m for m in said)


@pytest.mark.parametrize("body, option", [
    ("hostnames: [public-ip]\n", "hostnames"),
    ("environments: {staging: main}\n", "environments"),
    ("project_tag: {key: Project}\n", "project_tag"),
    ("instance_states: [runing]\n", "instance_states"),
    ("endpoint_url: localhost:5000\n", "endpoint_url"),
    ("include_filters: [tag:Role=web]\n", "include_filters"),
    ("filter: {tag:Role: web}\n", "filter is not an option of pakashop.infra.ec2 (did you mean filters?)"),
])
def test_malformed_config_fails_before_any_request(ec2, tmp_path, api_calls, body, option):
    message = failure(tmp_path, body)
    assert message.startswith(f"{tmp_path / 'ec2.yml'}: {option}")
    assert api_calls == []
