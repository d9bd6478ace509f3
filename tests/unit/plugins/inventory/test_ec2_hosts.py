"""The pure part of pakashop.infra.ec2: options and instances to hosts."""

import pytest

from ansible_collections.pakashop.infra.plugins.module_utils._ec2_hosts import (
    ConfigError, boto_filters, check_environments, check_filter_list, check_hostnames,
    check_instance_states, check_project_tag, host_vars, parse_services, preferred_hostname,
    query_plan, summarize, unique_hostnames)

PROJECT = {"key": "Project", "value": "pakashop"}


def summary(**fields):
    base = {"instance_id": "i-0001", "region": "eu-west-1", "availability_zone": "eu-west-1a",
            "state": "running",
            "private_ip_address": "10.0.0.5", "ip_address": "54.1.2.3",
            "dns_name": "ec2-54-1-2-3.eu-west-1.compute.amazonaws.com",
            "private_dns_name": "ip-10-0-0-5.eu-west-1.compute.internal",
            "tags": {"Name": "web-1", "Environment": "staging", "Services": "api"}}
    return {**base, **fields}


@pytest.mark.parametrize("tag, services", [
    ("gateway,api", ["gateway", "api"]),
    (" API , Notifications ", ["api", "notifications"]),
    ("api,,api, ", ["api"]),
    ("", []),
    (None, []),
    ("image-resizer", ["image-resizer"]),
])
def test_services_tag_is_normalised(tag, services):
    assert parse_services(tag) == services


@pytest.mark.parametrize("preferences, name", [
    (["private-ip-address"], "10.0.0.5"),
    (["ip-address"], "54.1.2.3"),
    (["dns-name"], "ec2-54-1-2-3.eu-west-1.compute.amazonaws.com"),
    (["private-dns-name"], "ip-10-0-0-5.eu-west-1.compute.internal"),
    (["instance-id"], "i-0001"),
    (["tag:Name"], "web-1"),
    (["tag:Missing", "private-ip-address"], "10.0.0.5"),
    ([{"name": "private-ip-address", "prefix": "tag:Environment"}], "staging_10.0.0.5"),
    ([{"name": "tag:Name", "prefix": "pakashop", "separator": "-"}], "pakashop-web-1"),
    ([{"name": "tag:Name", "prefix": "tag:Missing"}], "web-1"),
    (["tag:Missing"], "i-0001"),
])
def test_hostname_is_the_first_preference_the_instance_has(preferences, name):
    assert preferred_hostname(summary(), check_hostnames(preferences)) == name


def test_hostname_skips_a_public_address_the_instance_lacks():
    private_only = summary(ip_address=None, dns_name=None)
    assert preferred_hostname(private_only, check_hostnames(["ip-address", "dns-name", "instance-id"])) == "i-0001"


@pytest.mark.parametrize("entry", ["tags:Name", "public-ip", "tag:", {"prefix": "tag:Name"}, 42])
def test_unknown_hostnames_entry_is_a_config_error(entry):
    with pytest.raises(ConfigError, match="^hostnames: "):
        check_hostnames([entry])


@pytest.mark.parametrize("names, ids, unique, shared", [
    (["a", "b"], ["i-1", "i-2"], ["a", "b"], {}),
    (["a", "a", "b"], ["i-1", "i-2", "i-3"], ["a_i-1", "a_i-2", "b"], {"a": ["i-1", "i-2"]}),
    (["a", "a", "a"], ["i-3", "i-1", "i-2"], ["a_i-3", "a_i-1", "a_i-2"], {"a": ["i-3", "i-1", "i-2"]}),
])
def test_shared_hostnames_are_made_unique_with_the_instance_id(names, ids, unique, shared):
    assert unique_hostnames(names, ids) == (unique, shared)


def test_filters_accept_a_value_or_a_list():
    assert boto_filters({"tag:Role": "web", "instance-type": ["t3.micro", "t3.small"], "launch-index": 0}) == [
        {"Name": "tag:Role", "Values": ["web"]},
        {"Name": "instance-type", "Values": ["t3.micro", "t3.small"]},
        {"Name": "launch-index", "Values": ["0"]},
    ]


def as_dicts(queries):
    return [{f["Name"]: f["Values"] for f in query} for query in queries]


def test_query_plan_without_filters_is_one_project_query():
    includes, excludes = query_plan(PROJECT, ["running"], {}, [], [])
    assert as_dicts(includes) == [{"tag:Project": ["pakashop"], "instance-state-name": ["running"]}]
    assert excludes == []


def test_query_plan_unites_filters_and_each_include_entry():
    includes = query_plan(PROJECT, ["running"], {"vpc-id": "vpc-1"}, [{"tag:Role": "web"}, {"tag:Role": "api"}], [])[0]
    assert as_dicts(includes) == [
        {"tag:Project": ["pakashop"], "instance-state-name": ["running"], "vpc-id": ["vpc-1"]},
        {"tag:Project": ["pakashop"], "instance-state-name": ["running"], "tag:Role": ["web"]},
        {"tag:Project": ["pakashop"], "instance-state-name": ["running"], "tag:Role": ["api"]},
    ]


def test_query_plan_lets_an_entry_choose_states_but_never_the_project():
    includes = query_plan(PROJECT, ["running"], {"instance-state-name": "stopped", "tag:Project": "other"}, [], [])[0]
    assert as_dicts(includes) == [{"tag:Project": ["pakashop"], "instance-state-name": ["stopped"]}]


def test_exclude_queries_are_not_narrowed_by_state():
    excludes = query_plan(PROJECT, ["running"], {}, [], [{"tag:Retiring": "true"}])[1]
    assert as_dicts(excludes) == [{"tag:Retiring": ["true"], "tag:Project": ["pakashop"]}]


@pytest.mark.parametrize("check, value, option", [
    (check_project_tag, {"key": "Project"}, "project_tag"),
    (check_project_tag, "Project=pakashop", "project_tag"),
    (check_instance_states, ["runing"], "instance_states"),
    (check_instance_states, [], "instance_states"),
    (check_environments, {"staging": "main"}, "environments"),
    (check_environments, {"staging": {"branch": ""}}, "environments"),
    (check_environments, {"pre-prod": {"branch": "main"}}, "environments"),
])
def test_malformed_options_name_the_option(check, value, option):
    with pytest.raises(ConfigError, match=f"^{option}"):
        check(value)


def test_filter_lists_must_hold_mappings():
    with pytest.raises(ConfigError, match="^exclude_filters"):
        check_filter_list("exclude_filters", ["tag:Retiring=true"])


def test_environment_names_are_normalised_like_the_tag():
    assert check_environments({" Staging ": {"branch": "main"}, "preview": {"branch": "feature/*"}}) == {
        "staging": "main", "preview": "feature/*"}


def test_host_vars_carry_what_playbooks_use():
    hostvars = host_vars(summary(tags={"Environment": " Staging", "Services": "API,gateway"}),
                         "Environment", "Services", {"staging": "main"})
    assert hostvars["ansible_host"] == "10.0.0.5"
    assert hostvars["pakashop_environment"] == "staging"
    assert hostvars["pakashop_branch"] == "main"
    assert hostvars["pakashop_services"] == ["api", "gateway"]
    assert hostvars["ec2_public_ip_address"] == "54.1.2.3"
    assert hostvars["ec2_availability_zone"] == "eu-west-1a"


def test_host_vars_of_an_unmapped_private_host():
    hostvars = host_vars(summary(ip_address=None, tags={"Environment": "qa"}), "Environment", "Services", {})
    assert hostvars["pakashop_branch"] is None
    assert "ec2_public_ip_address" not in hostvars


def test_hostvars_prefix_renames_only_the_ec2_variables():
    hostvars = host_vars(summary(), "Environment", "Services", {"staging": "main"}, prefix="aws_")
    assert "aws_ec2_instance_id" in hostvars and "ec2_instance_id" not in hostvars
    assert {"ansible_host", "pakashop_environment", "pakashop_branch", "pakashop_services"} <= set(hostvars)


def test_summary_keeps_only_json_types_and_drops_empty_names():
    instance = {"InstanceId": "i-1", "Placement": {"AvailabilityZone": "eu-west-1b"}, "State": {"Name": "running"},
                "PrivateIpAddress": "10.0.0.9", "PublicDnsName": "", "Tags": [{"Key": "Name", "Value": "x"}],
                "LaunchTime": object()}
    assert summarize(instance, "eu-west-1") == {
        "instance_id": "i-1", "region": "eu-west-1", "availability_zone": "eu-west-1b", "state": "running",
        "private_ip_address": "10.0.0.9", "ip_address": None,
        "dns_name": None, "private_dns_name": None, "tags": {"Name": "x"}}
