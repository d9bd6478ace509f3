"""The small filters of the deploy: each service's source and artifact, how it is gated,
what the deploy did to it, and the summary's lines."""

from ansible_collections.pakashop.infra.plugins.filter.deploy_summary import deploy_summary
from ansible_collections.pakashop.infra.plugins.filter.release_sources import release_sources
from ansible_collections.pakashop.infra.plugins.filter.service_gates import service_gates
from ansible_collections.pakashop.infra.plugins.filter.service_outcomes import service_outcomes
from ansible_collections.pakashop.infra.plugins.filter.source_paths import source_paths

CATALOG = {"api": {"port": 8100, "instances": 2, "exec_start": "/bin/x", "source_path": "api"},
           "gateway": {"port": 8080, "exec_start": "/bin/x", "source_path": "gw", "after": ["api"],
                       "build_command": "make"}}


def test_each_service_is_made_of_its_folder_and_the_shared_ones():
    assert source_paths(CATALOG, ["gateway", "api"], ["common"]) == {"gateway": ["gw", "common"],
                                                                     "api": ["api", "common"]}


def test_an_artifact_is_named_by_its_content_and_build_command():
    sources = {"api": {"digest": "ab" * 32}, "gateway": {"digest": "ab" * 32}}
    found = release_sources(sources, CATALOG, "/cache/artifacts")
    assert found["api"]["artifact"].startswith("/cache/artifacts/api-")
    assert found["api"]["artifact"][-23:] != found["gateway"]["artifact"][-23:]  # the gateway is built
    again = release_sources({"api": {"digest": "ab" * 32}}, CATALOG, "/cache/artifacts")
    assert again["api"] == found["api"]


def test_gates_carry_the_catalog_defaults_and_the_order_when_asked():
    api, gateway = service_gates(CATALOG, ["api", "gateway"])
    assert api == {"service": "api", "instances": 2, "port": 8100, "readiness": "http", "readiness_command": None,
                   "health_path": "/healthz", "identity_field": "service", "version_field": "version",
                   "socket": True, "after": []}
    assert gateway["after"] == ["api"]
    assert "after" not in service_gates(CATALOG, ["gateway"], order=False)[0]


def test_outcomes_say_what_the_activation_did_and_unchanged_for_the_rest():
    drifts = [{"service": "api"}, {"service": "gateway"}, {"service": "moderation"}]
    activation = {"services": [{"service": "api", "outcome": "activated"},
                               {"service": "gateway", "outcome": "went_back"}]}
    assert service_outcomes(drifts, activation) == {"api": "deployed", "gateway": "went back",
                                                    "moderation": "unchanged"}
    assert service_outcomes(drifts, activation, True)["api"] == "would deploy"
    assert service_outcomes(drifts, {"skipped": True}) == dict.fromkeys(["api", "gateway", "moderation"],
                                                                        "unchanged")


def test_the_summary_names_the_failed_gate_and_the_hosts_never_reached():
    hosts = [
        {"inventory_hostname": "stg-1", "pakashop_services": ["gateway", "api"],
         "service_releases": {"api": {"release": "r-api"}, "gateway": {"release": "r-gw"}},
         "service_activation": {"failed": True, "service": "api", "gate": "health",
                                "services": [{"service": "api", "outcome": "went_back", "release": "r-api",
                                              "previous": "r-api0"},
                                             {"service": "gateway", "outcome": "unchanged", "release": "r-gw",
                                              "previous": "r-gw"}]},
         "deploy_failure": "api: gate 'health' failed"},
        {"inventory_hostname": "stg-2", "pakashop_services": ["api"]},
    ]
    lines = deploy_summary(hosts, ["api", "gateway"], "staging", "3f4a2761c0ffee", "main")
    assert lines[0] == "staging: commit 3f4a2761c0ff (main)"
    assert lines[1].split() == ["stg-1", "api", "FAILED", "at", "gate", "'health'", "r-api0", "(left", "r-api)"]
    assert lines[2].split() == ["stg-1", "gateway", "unchanged", "r-gw"]
    assert lines[3] == "stg-1: api: gate 'health' failed"
    assert lines[4].split() == ["stg-2", "api", "not", "reached"]


def test_the_summary_names_the_release_a_host_went_back_to_after_a_later_host_failed():
    hosts = [{"inventory_hostname": "stg-1", "pakashop_services": ["api", "gateway"],
              "service_outcomes": {"api": "went back", "gateway": "unchanged"},
              "service_releases": {"api": {"release": "r-api"}, "gateway": {"release": "r-gw"}},
              # the go-back call's result: it moved api to the release it ran before the run
              "service_activation": {"services": [{"service": "api", "outcome": "activated", "release": "r-api0",
                                                   "previous": "r-api"}]}}]
    lines = deploy_summary(hosts, ["api", "gateway"], "staging", "3f4a2761c0ffee", "main")
    assert lines[1].split() == ["stg-1", "api", "went", "back", "r-api0", "(left", "r-api)"]
    assert lines[2].split() == ["stg-1", "gateway", "unchanged", "r-gw"]


def test_the_summary_says_a_host_lost_during_its_activation_runs_what_is_not_known():
    hosts = [{"inventory_hostname": "stg-2", "pakashop_services": ["api", "moderation"],
              "service_outcomes": {"api": "unchanged", "moderation": "unchanged"},
              "service_releases": {"api": {"release": "r-api"}},
              "service_activation": {"unreachable": True, "changed": False, "msg": "ssh: No route to host"},
              "deploy_failure": "stg-2 could not be reached during its activation"}]
    lines = deploy_summary(hosts, ["api", "moderation"], "staging", "3f4a2761c0ffee", "main")
    assert lines[1].split() == ["stg-2", "api", "unreachable", "r-api"]
    assert lines[2].split() == ["stg-2", "moderation", "unreachable"]
    assert lines[3] == "stg-2: stg-2 could not be reached during its activation"
