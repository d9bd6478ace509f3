"""Every bad input a tired person could type is refused in one sentence that
names the variable and the fix; good inputs pass untouched."""

import copy

import pytest
from ansible_collections.pakashop.infra.plugins.plugin_utils._preflight import (
    check_catalog, check_environment, check_services, check_settings, report)

CATALOG = {
    "gateway": {"port": 8080, "instances": 1, "health_path": "/healthz", "source_path": "gateway",
                "exec_start": "/usr/bin/python3 gateway/main.py", "upstreams": ["api"], "after": ["api"]},
    "api": {"port": 8100, "instances": 2, "health_path": "/healthz", "source_path": "api",
            "exec_start": "/usr/bin/python3 api/main.py",
            "env": {"GREETING": "hello"}, "secrets": {"DB_PASSWORD": "s3cr3t-value"}},
    "moderation": {"port": 8300, "source_path": "moderation", "exec_start": "/usr/bin/python3 moderation/main.py"},
}
HOSTS = {"stg-1": {"services": ["gateway", "api"]}, "stg-2": {"services": ["api", "moderation"]}}


def catalog_with(service, **changes):
    catalog = copy.deepcopy(CATALOG)
    for key, value in changes.items():
        if value is None:
            catalog[service].pop(key, None)
        else:
            catalog[service][key] = value
    return catalog


def test_the_lab_catalog_passes():
    assert check_catalog(CATALOG, "staging", HOSTS) == []


def test_a_gate_without_the_identity_check_is_allowed():
    assert check_catalog(catalog_with("api", identity_field="", version_field="commit"), "staging", HOSTS) == []


@pytest.mark.parametrize("changes, words", [
    ({"port": 99999}, ["pakashop_service_catalog.api.port is 99999", "1024 to 65535"]),
    ({"port": 80}, ["api.port is 80", "unprivileged"]),
    ({"port": "http"}, ["api.port is 'http'"]),
    ({"port": None}, ["api has no port"]),
    ({"instances": 0}, ["api.instances is 0", "1 instance or more"]),
    ({"instances": -1}, ["api.instances is -1"]),
    ({"instances": "two"}, ["api.instances is 'two'"]),
    ({"port": 65535, "instances": 2}, ["past 65535"]),
    ({"exec_start": ""}, ["api.exec_start is ''", "absolute path"]),
    ({"exec_start": "python3 api/main.py"}, ["api.exec_start is 'python3 api/main.py'", "absolute path"]),
    ({"exec_start": "/usr/bin/python3\nrm -rf /"}, ["api.exec_start is"]),
    ({"health_path": "healthz"}, ["api.health_path is 'healthz'", "starts with '/'"]),
    ({"health_path": "/health z"}, ["api.health_path is '/health z'"]),
    ({"source_path": "../etc"}, ["api.source_path is '../etc'", "relative"]),
    ({"source_path": "/srv/api"}, ["api.source_path is '/srv/api'"]),
    ({"helth_path": "/healthz"}, ["unknown key 'helth_path'", "did you mean health_path?"]),
    ({"env": ["A=1"]}, ["api.env is list", "mapping"]),
    ({"env": {"1BAD": "x"}}, ["variable name '1BAD'"]),
    ({"env": {"PORT": "9000"}}, ["api.env.PORT is set by the collection itself"]),
    ({"env": {"PAKASHOP_UPSTREAMS_API": "x"}}, ["PAKASHOP_UPSTREAMS_API is set by the collection"]),
    ({"env": {"NESTED": {"a": 1}}}, ["api.env.NESTED is a mapping", "quote a JSON value"]),
    ({"secrets": {"KEY": "a\x00b"}}, ["api.secrets.KEY holds a NUL character"]),
    ({"env": {"DB_PASSWORD": "x"}}, ["sets DB_PASSWORD in both env and secrets"]),
    ({"after": ["moderation", "gatway"]}, ["api.after names 'gatway'", "did you mean gateway?"]),
    ({"after": "gateway"}, ["api.after is 'gateway'", "list of service names"]),
    ({"after": ["api"]}, ["api -> api;"]),
    ({"upstreams": ["api"]}, ["api.upstreams names api itself"]),
    ({"upstreams": ["moderaton"]}, ["api.upstreams names 'moderaton'", "did you mean moderation?"]),
    ({"limits": {"MemoryMaximum": "200M"}}, ["api.limits has 'MemoryMaximum'", "did you mean MemoryMax?"]),
    ({"limits": {"MemoryMax": "200M\nUser=root"}}, ["api.limits.MemoryMax is", "on one line"]),
    ({"hardening": {"ProtectSytem": "full"}}, ["api.hardening has 'ProtectSytem'", "did you mean ProtectSystem?"]),
    ({"build_command": "  "}, ["api.build_command is '  '"]),
    ({"version_field": ""}, ["api.version_field is ''"]),
    ({"identity_field": ["service"]}, ["api.identity_field is ['service']", "empty string to skip"]),
    ({"target_groups": "pakashop-staging-gateway"}, ["api.target_groups is 'pakashop-staging-gateway'",
                                                     "list of target group names or ARNs"]),
    ({"target_groups": [""]}, ["api.target_groups is ['']"]),
])
def test_a_bad_catalog_entry_is_named_with_its_fix(changes, words):
    problems = check_catalog(catalog_with("api", **changes), "staging", HOSTS)
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0]
    assert problems[0].endswith((".", "?"))


def test_no_secret_value_is_ever_quoted():
    catalog = catalog_with("api", secrets={"DB_PASSWORD": "s3cr3t-value", "BAD NAME": "s3cr3t-value",
                                           "NUL": "s3cr3t-value\x00"}, helth="x")
    problems = check_catalog(catalog, "staging", HOSTS)
    assert len(problems) == 3
    assert not any("s3cr3t" in p for p in problems)


# A worker: no port, ready when it tells systemd so (sd_notify).
WORKER = {"readiness": "notify", "source_path": "notifications", "exec_start": "/usr/bin/python3 notifications/main.py"}
WORKER_HOSTS = {**HOSTS, "stg-2": {"services": ["api", "moderation", "notifications"]}}


def with_worker(**changes):
    worker = {k: v for k, v in {**WORKER, **changes}.items() if v is not None}
    return {**copy.deepcopy(CATALOG), "notifications": worker}


@pytest.mark.parametrize("changes", [
    {},
    {"instances": 3},
    {"readiness": "command", "readiness_command": "/usr/local/bin/notifications-ready"},
    {"readiness": "notify", "identity_field": "", "version_field": "commit"},
    {"port": 8200},  # a notify service may listen too: then it has a socket
    {"port": 8200, "socket": False},
])
def test_a_worker_without_a_port_or_one_that_listens_passes(changes):
    assert check_catalog(with_worker(**changes), "staging", WORKER_HOSTS) == []


@pytest.mark.parametrize("changes, words", [
    ({"readiness": "notfy"}, ["notifications.readiness is 'notfy' (did you mean notify?)", "give http", "notify",
                              "command"]),
    ({"readiness": ["notify"]}, ["notifications.readiness is ['notify']"]),
    ({"readiness": "http"}, ["notifications has no port, which readiness http needs",
                             "set readiness to notify or command"]),
    ({"readiness": "command"}, ["notifications has readiness command but no readiness_command",
                                "exits 0 when an instance is ready and prints its version last"]),
    ({"readiness": "command", "readiness_command": "true\nrm -rf /"},
     ["notifications.readiness_command is", "on one line"]),
    ({"readiness": "command", "readiness_command": " "}, ["notifications.readiness_command is ' '"]),
    ({"readiness_command": "true"}, ["notifications.readiness_command is set, but readiness is notify",
                                     "set readiness to command, or remove readiness_command"]),
    ({"health_path": "/healthz"}, ["notifications.health_path is set, but readiness is notify",
                                   "sd_notify; remove health_path, or set readiness to http"]),
    ({"readiness": "command", "readiness_command": "true", "health_path": "/up"},
     ["notifications.health_path is set, but readiness is command"]),
    ({"readiness": "command", "readiness_command": "true", "version_field": "version"},
     ["notifications.version_field is set, but readiness is command", "last line"]),
    ({"readiness": "command", "readiness_command": "true", "identity_field": ""},
     ["notifications.identity_field is set, but readiness is command"]),
    ({"identity_field": ["service"]}, ["notifications.identity_field is ['service']", "sd_notify STATUS= words"]),
    ({"version_field": "the version"}, ["notifications.version_field is 'the version'", "sd_notify STATUS= words"]),
    ({"socket": True}, ["notifications.socket is true, but notifications has no port for systemd to listen on",
                        "remove socket"]),
])
def test_a_readiness_that_makes_no_sense_is_named_with_its_fix(changes, words):
    problems = check_catalog(with_worker(**changes), "staging", WORKER_HOSTS)
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0]
    assert problems[0].endswith(".")


def test_an_http_service_may_not_keep_a_readiness_command():
    problems = check_catalog(catalog_with("api", readiness_command="true"), "staging", HOSTS)
    assert problems == ["pakashop_service_catalog.api.readiness_command is set, but readiness is http, which does "
                        "not run it: set readiness to command, or remove readiness_command."]


def test_a_worker_is_no_upstream():
    catalog = with_worker()
    catalog["gateway"]["upstreams"] = ["api", "notifications"]
    assert check_catalog(catalog, "staging", WORKER_HOSTS) == [
        "pakashop_service_catalog.gateway.upstreams names notifications, a worker with no port to send requests "
        "to: take it out of upstreams, or give notifications a port."]


@pytest.mark.parametrize("name", ["API", "1api", "api_v2", "api.v2", "-api", "a" * 24, ""])
def test_a_service_name_that_is_not_a_plain_name_is_refused(name):
    catalog = {**CATALOG, name: CATALOG["moderation"]}
    problems = check_catalog(catalog, "staging", HOSTS)
    assert len(problems) == 1 and f"a service named {name!r}" in problems[0]


def test_two_services_on_one_port_of_a_host_are_refused():
    catalog = catalog_with("moderation", port=8101)  # the api's instance 2 on stg-2
    problems = check_catalog(catalog, "staging", HOSTS)
    assert problems == ["pakashop_service_catalog.moderation and api both listen on port 8101 of stg-2 "
                        "(moderation uses 8101-8101): give each service on a host its own ports."]


def test_the_same_port_on_hosts_that_do_not_share_services_is_fine():
    catalog = catalog_with("moderation", port=8080)  # the gateway's, but on another host
    assert check_catalog(catalog, "staging", HOSTS) == []


def test_an_after_cycle_is_named():
    catalog = catalog_with("api", after=["gateway"])
    problems = check_catalog(catalog, "staging", HOSTS)
    assert problems == ["The catalog's `after` lists form a cycle: gateway -> api -> gateway; "
                        "remove one of these `after` entries."]


def test_an_upstream_no_host_runs_is_refused():
    hosts = {"stg-1": {"services": ["gateway"]}}
    problems = check_catalog(CATALOG, "staging", hosts)
    assert problems == ["pakashop_service_catalog.gateway.upstreams names api, which no host of staging runs, "
                        "so gateway would have no upstream: tag a host of staging with api, or take it out of "
                        "upstreams."]


def test_a_host_tagged_with_a_service_the_catalog_lacks_is_refused():
    hosts = {**HOSTS, "stg-3": {"services": ["moderatoin"]}}
    problems = check_catalog(CATALOG, "staging", hosts)
    assert len(problems) == 1 and "stg-3 in staging is tagged to run moderatoin" in problems[0]
    assert "did you mean moderation?" in problems[0]


@pytest.mark.parametrize("catalog", [None, {}, [], "gateway"])
def test_no_catalog_at_all_is_one_sentence(catalog):
    problems = check_catalog(catalog, "staging", HOSTS)
    assert len(problems) == 1 and problems[0].startswith("pakashop_service_catalog is ")


def test_every_problem_is_reported_at_once():
    catalog = catalog_with("api", port=0, instances=0, health_path="x", exec_start="")
    assert len(check_catalog(catalog, "staging", HOSTS)) == 4


@pytest.mark.parametrize("name, value", [
    ("deploy_serial", "abc"), ("deploy_serial", 0), ("deploy_serial", "0"), ("deploy_serial", "-1"),
    ("deploy_serial", "0%"), ("deploy_serial", "150%"), ("deploy_serial", "50 %x"), ("deploy_serial", "1.5"),
    ("deploy_serial", True), ("deploy_serial", [1, "abc"]), ("rollback_serial", ""),
    ("deploy_max_fail_percentage", 150), ("deploy_max_fail_percentage", "-5"),
    ("deploy_max_fail_percentage", "50%"), ("deploy_max_fail_percentage", "lots"),
    ("deploy_lock_timeout", "-1"), ("deploy_lock_timeout", "10m"), ("deploy_lock_retry_delay", 0),
    ("deploy_lock_lease", 5), ("deploy_lock_break", "ture"), ("deploy_lock_break", "2"),
    ("deploy_staging", "maybe"), ("service_health_timeout", "0"), ("service_keep_releases", 1),
    ("revert_parent", 0), ("release_ref", "--upload-pack=evil"), ("release_ref", "main branch"),
    ("release_ref", ""), ("release_ref", "a..b"), ("revert", "-x"), ("to_release", "latest"),
    ("to_release", "20261201-abc"), ("deploy_service_root", "opt/pakashop"),
    ("deploy_service_root", "/opt/../etc"), ("github_repository", "pakashop"), ("deploy_cache_dir", ""),
    ("promote_wait", "5m"), ("promote_wait", -1), ("promote_frontend_timeout", "soon"), ("github_merge", "sure"),
    ("verify_frontend", "2"), ("github_api_url", "api.github.com"), ("vercel_api_url", "https://api vercel"),
    ("pakashop_github_repository", "backend"), ("pakashop_vercel_project", "prj\nx"),
])
def test_a_bad_setting_is_refused_with_an_example(name, value):
    problems = check_settings({name: value})
    assert len(problems) == 1
    assert problems[0].startswith(f"{name} is {value!r}")
    assert "give" in problems[0] and problems[0].endswith(".")


@pytest.mark.parametrize("name, value", [
    ("deploy_serial", 1), ("deploy_serial", "2"), ("deploy_serial", "25%"), ("deploy_serial", "100%"),
    ("deploy_serial", [1, "50%"]), ("deploy_max_fail_percentage", 0), ("deploy_max_fail_percentage", "100"),
    ("deploy_max_fail_percentage", 12.5), ("deploy_lock_timeout", 0), ("deploy_lock_timeout", "600"),
    ("deploy_lock_break", True), ("deploy_lock_break", "yes"), ("deploy_lock_break", "False"),
    ("release_ref", "main"), ("release_ref", "feature/x"), ("release_ref", "3f4a276"), ("release_ref", "v1.2.0"),
    ("release_ref", "main~1"), ("to_release", "20261201T101500Z-3f4a276"), ("to_release", ""),
    ("deploy_service_root", "/opt/pakashop"), ("github_repository", "pakashop/backend"),
    ("deploy_serial", None), ("pakashop_lock_store", {"table": "pakashop-deploy-locks"}),
    ("pakashop_lock_store", {"type": "hosts"}), ("pakashop_lock_store", {"type": "dynamodb", "table": "locks"}),
    ("deploy_serial", None), ("promote_wait", 0), ("promote_wait", "300"), ("github_merge", "true"),
    ("verify_frontend", False), ("github_api_url", "https://github.example.com/api/v3"),
    ("vercel_api_url", "http://127.0.0.1:5065"), ("pakashop_vercel_project", "prj_pakashop"),
    ("pakashop_vercel_project", ""), ("pakashop_github_repository", ""),
])
def test_a_good_setting_passes(name, value):
    assert check_settings({name: value}) == []


@pytest.mark.parametrize("store", [{}, {"region": "eu-west-1", "secret_key": "k3y-value"}, "locks", {"table": " "}])
def test_a_lock_store_without_a_table_is_refused_without_showing_it(store):
    problems = check_settings({"pakashop_lock_store": store})
    assert len(problems) == 1 and problems[0].startswith("pakashop_lock_store names no lock table: set it")
    assert "k3y-value" not in problems[0]


def test_a_lock_store_of_an_unknown_type_is_refused_naming_the_two():
    assert check_settings({"pakashop_lock_store": {"type": "consul"}}) == [
        "pakashop_lock_store has type 'consul': give type dynamodb (a DynamoDB table, the default) or hosts "
        "(the environment's hosts, held on a majority of them)."]


def test_an_unknown_setting_is_a_bug_of_the_caller():
    with pytest.raises(KeyError):
        check_settings({"deploy_serail": 1})


def environment_of(*pairs):
    return {h: {"environment": e, "services": []} for h, e in pairs}


def test_one_environment_is_chosen():
    assert check_environment(environment_of(("stg-1", "staging"), ("stg-2", "staging")), True) == ("staging", [])


@pytest.mark.parametrize("hosts, limited, words", [
    (environment_of(("stg-1", "staging"), ("prd-1", "production")), True, "selects hosts of production and staging"),
    (environment_of(("stg-1", "staging")), False, "selects every host (no --limit)"),
    ({}, True, "selects no host"),
    ({"web-1": {"services": []}}, True, "web-1 has no pakashop_environment"),
])
def test_a_run_that_is_not_one_environment_is_refused(hosts, limited, words):
    environment, problems = check_environment(hosts, limited)
    assert environment is None and len(problems) == 1 and words in problems[0]


def test_services_come_dependencies_first():
    assert check_services("gateway, api", CATALOG, "staging", HOSTS) == (["api", "gateway"], [])
    assert check_services(None, CATALOG, "staging", HOSTS)[0] == ["api", "gateway", "moderation"]


@pytest.mark.parametrize("requested, words", [
    ("gatway", "services names 'gatway', which the catalog (pakashop_service_catalog) does not have (did you mean gateway?)"),
    ("API", "services names 'API'"),
    ("api,,gateway", "has an empty name"),
    ("notifications", "services names 'notifications', which the catalog"),
])
def test_bad_services_are_named(requested, words):
    problems = check_services(requested, CATALOG, "staging", HOSTS)[1]
    assert len(problems) == 1 and words in problems[0]


def test_a_service_no_host_of_the_environment_runs_is_refused():
    problems = check_services("moderation", CATALOG, "staging", {"stg-1": {"services": ["api"]}})[1]
    assert problems == ["services names 'moderation', which no host of staging runs (EC2 tag Services): "
                        "leave it out, or tag a host of staging with it."]


def test_the_report_of_one_problem_is_one_sentence():
    assert report(["a is wrong."], "rollback") == "The rollback was refused before anything was changed: a is wrong."


def test_the_report_counts_and_lists_every_problem():
    text = report(["a is wrong.", "b is wrong."], "deploy")
    assert text.splitlines() == ["The deploy was refused before anything was changed: 2 problems to fix.",
                                 "- a is wrong.", "- b is wrong."]
