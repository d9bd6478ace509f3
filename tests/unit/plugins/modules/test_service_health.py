"""pakashop.infra.service_health's gates on who answered the health check and
with which version, run by Ansible's module runner against real HTTP health
endpoints on loopback (systemctl and journalctl are stand-ins, conftest.py).
Each check probes once (timeout 0)."""

import pytest


@pytest.fixture
def check(run_gated, endpoints):
    """Check instance 1 of `service` on the endpoints' first port; its result."""
    def check_service(service="api", **args):
        return run_gated("service_health", {
            "service": service, "port": endpoints.base, "expected_version": endpoints.commit,
            "timeout": 0, "fail_on_unhealthy": False, **args})[0]
    return check_service


def test_the_right_service_on_the_expected_version_passes(check):
    result = check()
    assert result["healthy"] is True and result["failed_gates"] == [], result["verdicts"]
    assert result["instances"][0]["identity"] == "api"
    assert result["verdicts"][0].startswith("pakashop-api@1.service: healthy - active/running, HTTP 200")


def test_another_service_on_the_port_fails_identity_naming_both(check, endpoints):
    endpoints.answers[endpoints.base]["service"] = "gateway"
    result = check()
    assert result["failed_gates"] == [{"unit": "pakashop-api@1.service", "gate": "identity"}]
    assert result["instances"][0]["identity"] == "gateway"
    assert result["verdicts"][0].startswith(
        f"pakashop-api@1.service: gate 'identity' failed - port {endpoints.base} is answered by gateway, "
        "not api (is another service on this port?) (active/running, HTTP 200")


def test_another_service_on_another_version_fails_identity_not_version(check, endpoints):
    endpoints.answers[endpoints.base] = {"service": "gateway", "version": "0" * 40}
    assert check()["failed_gates"] == [{"unit": "pakashop-api@1.service", "gate": "identity"}]


def test_the_failed_identity_fails_the_task_with_the_sentence(check, endpoints):
    endpoints.answers[endpoints.base]["service"] = "gateway"
    result = check(fail_on_unhealthy=True)
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"api: pakashop-api@1.service: gate 'identity' failed - port {endpoints.base} is answered by gateway")


def test_an_answer_without_the_field_fails_identity_and_says_how_to_fix_it(check, endpoints):
    del endpoints.answers[endpoints.base]["service"]
    result = check()
    assert result["failed_gates"] == [{"unit": "pakashop-api@1.service", "gate": "identity"}]
    assert (f"gate 'identity' failed - the health answer on port {endpoints.base} has no 'service' field "
            "to name api (set identity_field in the service's catalog entry to the field that names it, "
            "or to an empty string to skip this check)") in result["verdicts"][0]


def test_an_empty_identity_field_skips_the_check(check, endpoints):
    del endpoints.answers[endpoints.base]["service"]
    result = check(identity_field="")
    assert result["healthy"] is True, result["verdicts"]
    assert result["instances"][0]["identity"] is None


def test_the_identity_field_names_the_key_to_read(check, endpoints):
    endpoints.answers[endpoints.base] = {"name": "api", "service": "gateway", "version": endpoints.commit}
    assert check(identity_field="name")["healthy"] is True
    assert check()["failed_gates"][0]["gate"] == "identity"


def test_the_right_service_on_another_version_still_fails_version(check, endpoints):
    endpoints.answers[endpoints.base]["version"] = "0" * 40
    result = check()
    assert result["failed_gates"] == [{"unit": "pakashop-api@1.service", "gate": "version"}]
    assert "gate 'version' failed - it reports 000000000000, expected 3f4a2761c0ff" in result["verdicts"][0]


def test_the_version_field_names_the_key_to_read(check, endpoints):
    endpoints.answers[endpoints.base] = {"service": "api", "commit": endpoints.commit, "version": "0" * 40}
    assert check(version_field="commit")["healthy"] is True
    assert check()["failed_gates"][0]["gate"] == "version"
    assert check(version_field="")["msg"].startswith("api: version_field cannot be empty")


def test_a_json_answer_that_is_not_an_object_names_no_service(check, endpoints):
    endpoints.answers[endpoints.base] = ["api", endpoints.commit]
    result = check()
    assert result["failed_gates"][0]["gate"] == "identity"
    assert "has no 'service' field to name api" in result["verdicts"][0]
