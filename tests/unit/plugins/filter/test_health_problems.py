import pytest
from ansible_collections.pakashop.infra.plugins.filter.health_problems import health_problems

HEALTHY = {"unit": "pakashop-api@1.service", "gate": None, "http_status": 200,
           "active_state": "active", "sub_state": "running", "version": "a" * 40, "identity": "api"}


def result(*instances):
    return {"instances": [dict(HEALTHY, **i) for i in instances]}


@pytest.mark.parametrize("instance, phrase", [
    ({"gate": "health", "http_status": None}, "stg-1 pakashop-api@1 does not answer its health check"),
    ({"gate": "health", "http_status": 503}, "stg-1 pakashop-api@1 is unhealthy (HTTP 503)"),
    ({"gate": "identity", "identity": "gateway"}, "stg-1 pakashop-api@1 is not what answers its port (gateway does)"),
    ({"gate": "identity", "identity": None}, "stg-1 pakashop-api@1 is not what answers its port (no name does)"),
    ({"gate": "version", "version": "0123456789abcdef"}, "stg-1 pakashop-api@1 serves 0123456789ab"),
    ({"gate": "version", "version": None}, "stg-1 pakashop-api@1 serves no version"),
    ({"gate": "unit", "active_state": "failed", "sub_state": "failed"},
     "stg-1 pakashop-api@1 is not active/running (failed/failed)"),
    ({"gate": "restarting", "active_state": "activating", "sub_state": "auto-restart"},
     "stg-1 pakashop-api@1 is not active/running (activating/auto-restart)"),
])
def test_each_failed_gate_is_one_phrase_naming_host_and_instance(instance, phrase):
    assert health_problems([result(instance)], "stg-1") == [phrase]


WORKER = {"unit": "pakashop-notifications@1.service", "readiness": "notify", "http_status": None}


@pytest.mark.parametrize("instance, phrase", [
    ({**WORKER, "gate": "ready", "active_state": "activating", "sub_state": "start"},
     "stg-2 pakashop-notifications@1 has not told systemd it is ready (READY=1)"),
    ({**WORKER, "gate": "version", "version": "0123456789abcdef"}, "stg-2 pakashop-notifications@1 runs 0123456789ab"),
    ({**WORKER, "gate": "identity", "identity": None}, "stg-2 pakashop-notifications@1 names no service in its status"),
    ({**WORKER, "gate": "unit", "active_state": "failed", "sub_state": "failed"},
     "stg-2 pakashop-notifications@1 is not active/running (failed/failed)"),
    ({**WORKER, "readiness": "command", "gate": "ready", "command_rc": 3},
     "stg-2 pakashop-notifications@1 is not ready (its readiness command exited 3)"),
])
def test_a_worker_without_a_health_endpoint_is_named_by_its_own_gate(instance, phrase):
    assert health_problems([result(instance)], "stg-2") == [phrase]


def test_a_host_whose_instances_all_pass_has_no_problem():
    assert health_problems({"results": [result({}), result({"unit": "pakashop-gateway@1.service"})]}, "stg-1") == []


def test_only_the_failing_instances_of_a_loop_are_named_in_order():
    loop = {"results": [
        result({}, {"unit": "pakashop-api@2.service", "gate": "health", "http_status": None}),
        {"skipped": True},
        result({"unit": "pakashop-moderation@1.service", "gate": "version", "version": "b" * 40}),
    ]}
    assert health_problems(loop, "stg-2") == [
        "stg-2 pakashop-api@2 does not answer its health check",
        "stg-2 pakashop-moderation@1 serves bbbbbbbbbbbb",
    ]
