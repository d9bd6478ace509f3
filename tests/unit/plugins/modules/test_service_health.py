"""pakashop.infra.service_health's gates (the unit's state, restarts, health,
who answered and with which version), its journal and its options, run by
Ansible's module runner against real HTTP health endpoints on loopback
(systemctl and journalctl are stand-ins, conftest.py and systemd_stand_in.py).
A check probes once (timeout 0) unless it says otherwise."""

import time

import pytest

API_1 = "pakashop-api@1.service"
FAILED = {"ActiveState": "failed", "SubState": "failed", "MainPID": "0"}


@pytest.fixture
def check(run_gated, endpoints):
    """Check instance 1 of `service` on the endpoints' first port (systemd sees
    the units as `units` says); its result."""
    def check_service(service="api", units=None, **args):
        return run_gated("service_health", {
            "service": service, "port": endpoints.base, "expected_version": endpoints.commit,
            "timeout": 0, "fail_on_unhealthy": False, **args}, units=units)[0]
    return check_service


def timed(check, **args):
    """check(**args) waiting up to 20 s, with settle 0.5; (result, seconds it took)."""
    started = time.monotonic()
    result = check(timeout=20, settle=0.5, interval=0.05, **args)
    return result, time.monotonic() - started


def restarts(*counts, pid=42):
    """Successive `systemctl show` answers of a unit restarted `counts` times so far, a new PID each."""
    return [{"NRestarts": str(n), "MainPID": str(pid + n)} for n in counts]


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


def test_a_failed_unit_fails_gate_unit_at_once_without_waiting_out_the_timeout(check):
    result, seconds = timed(check, units={API_1: {"show": [FAILED]}})
    assert result["failed_gates"] == [{"unit": API_1, "gate": "unit"}]
    assert result["verdicts"][0].startswith(
        f"{API_1}: gate 'unit' failed - the unit is not active/running (failed/failed, health not asked")
    assert seconds < 10  # systemd gave up: waiting cannot help


def test_a_unit_still_activating_fails_gate_unit_when_the_timeout_runs_out(check):
    result = check(timeout=1, interval=0.05, units={API_1: {"show": [
        {"ActiveState": "activating", "SubState": "auto-restart"}]}})
    assert result["failed_gates"] == [{"unit": API_1, "gate": "unit"}]
    assert "the unit is not active/running (activating/auto-restart" in result["verdicts"][0]


def test_a_crash_looping_instance_fails_gate_restarting_without_waiting_out_the_timeout(check):
    # Restarted twice while probed, then it holds: still a crash loop.
    result, seconds = timed(check, units={API_1: {"show": restarts(0, 1, 2)}})
    assert result["failed_gates"] == [{"unit": API_1, "gate": "restarting"}]
    assert result["verdicts"][0].startswith(f"{API_1}: gate 'restarting' failed - it restarted while being checked")
    assert result["verdicts"][0].endswith(", 2 restarts)")
    assert seconds < 10


def test_an_instance_that_restarts_on_every_probe_fails_gate_restarting(check):
    # A new PID each probe, the restart count left at 0 (restarted by hand).
    new_pids = [{"MainPID": str(pid)} for pid in range(100, 400)]
    result = check(timeout=2, settle=0.5, interval=0.05, units={API_1: {"show": new_pids}})
    assert result["failed_gates"] == [{"unit": API_1, "gate": "restarting"}]


def test_an_instance_that_restarted_once_and_then_held_passes(check):
    result = timed(check, units={API_1: {"show": restarts(0, 1)}})[0]
    assert result["healthy"] is True, result["verdicts"]
    assert result["instances"][0]["n_restarts"] == 1


def test_a_health_endpoint_answering_503_fails_gate_health(check, endpoints):
    endpoints.status[endpoints.base] = 503
    result = check()
    assert result["failed_gates"] == [{"unit": API_1, "gate": "health"}]
    assert result["verdicts"][0].startswith(
        f"{API_1}: gate 'health' failed - the health endpoint does not answer 200 (active/running, HTTP 503 in")


def test_a_health_endpoint_nobody_answers_fails_gate_health(check, endpoints):
    endpoints.close()
    result = check()
    assert result["failed_gates"] == [{"unit": API_1, "gate": "health"}]
    assert "(active/running, health not answering, version ?, 0 restarts)" in result["verdicts"][0]


def test_unhealthy_instances_fail_the_task_with_their_verdicts_and_only_theirs(check):
    result = check(instances=2, fail_on_unhealthy=True, units={
        API_1: {"show": [FAILED]}, "pakashop-api@2.service": {"show": [{"ActiveState": "inactive", "SubState": "dead"}]}})
    assert result["failed"] is True and result["healthy"] is False
    assert result["msg"] == "api: " + "; ".join(result["verdicts"])
    assert [v.split(" - ")[0] for v in result["verdicts"]] == [
        f"{API_1}: gate 'unit' failed", "pakashop-api@2.service: gate 'unit' failed"]
    partly = check(instances=2, fail_on_unhealthy=True, units={API_1: {"show": [FAILED]}})
    assert partly["msg"] == "api: " + partly["verdicts"][0]
    assert partly["verdicts"][1].startswith("pakashop-api@2.service: healthy")


def test_healthy_instances_do_not_fail_the_task(check):
    result = check(instances=2, fail_on_unhealthy=True)
    assert "failed" not in result and result["healthy"] is True, result


def test_instances_and_instance_choose_which_instances_on_which_ports(check, endpoints):
    endpoints.answers[endpoints.base + 1]["version"] = "0" * 40  # api@2 on the next port
    assert check()["healthy"] is True
    both = check(instances=2)
    assert [i["url"] for i in both["instances"]] == [
        f"http://127.0.0.1:{endpoints.base + i}/healthz" for i in (0, 1)]
    assert both["failed_gates"] == [{"unit": "pakashop-api@2.service", "gate": "version"}]
    assert check(instance=2)["failed_gates"] == [{"unit": "pakashop-api@2.service", "gate": "version"}]


# --- several services in one call (verify and status) --------------------------

GATEWAY_1 = "pakashop-gateway@1.service"


def several(run_gated, endpoints, units=None, api=None, gateway=None, calls=None, **args):
    """service_health with services api (2 instances) and gateway (on the third port); its result
    (and its systemctl calls in `calls`, a list, when given)."""
    result, made = run_gated("service_health", {"services": [
        {"service": "api", "instances": 2, "port": endpoints.base, "expected_version": endpoints.commit, **(api or {})},
        {"service": "gateway", "port": endpoints.base + 2, "expected_version": endpoints.commit, **(gateway or {})}],
        "timeout": 0, "fail_on_unhealthy": False, **args}, units=units)
    if calls is not None:
        calls[:] = made
    return result


def test_several_services_are_checked_in_one_call_each_with_its_own_verdicts(run_gated, endpoints):
    endpoints.answers[endpoints.base + 2]["version"] = "0" * 40
    result = several(run_gated, endpoints)
    api, gateway = result["services"]
    assert (api["service"], api["healthy"], len(api["verdicts"]), api["failed_gates"]) == ("api", True, 2, [])
    assert (gateway["service"], gateway["healthy"]) == ("gateway", False)
    assert gateway["failed_gates"] == [{"unit": GATEWAY_1, "gate": "version"}]
    assert result["healthy"] is False and len(result["instances"]) == 3


def test_one_systemctl_show_per_probe_gives_each_instance_its_own_state(run_gated, endpoints):
    units = {"pakashop-api@2.socket": {"show": [{"ActiveState": "inactive", "SubState": "dead"}]},
             GATEWAY_1: {"show": [FAILED]}}
    calls = []
    result = several(run_gated, endpoints, units, api={"socket": True}, calls=calls)
    assert [c.split()[0] for c in calls] == ["show"], "one probe of five units, one systemctl"
    api, gateway = result["services"]
    assert [i["socket_state"] for i in api["instances"]] == ["active/running", "inactive/dead"]
    assert api["failed_gates"] == [{"unit": "pakashop-api@2.service", "gate": "unit"}]
    assert gateway["failed_gates"] == [{"unit": GATEWAY_1, "gate": "unit"}]
    assert gateway["instances"][0]["active_state"] == "failed"


def test_several_services_fail_the_task_naming_only_the_one_that_failed(run_gated, endpoints):
    endpoints.answers[endpoints.base + 2]["service"] = "api"
    result = several(run_gated, endpoints, fail_on_unhealthy=True)
    assert result["failed"] is True
    assert result["msg"].startswith(f"gateway: {GATEWAY_1}: gate 'identity' failed"), result["msg"]
    assert "pakashop-api@" not in result["msg"]


def test_each_service_reads_its_journal_since_its_own_time(run_gated, endpoints):
    lines = [{"MESSAGE": "before", "PRIORITY": "3", "__REALTIME_TIMESTAMP": "1000000"},
             {"MESSAGE": "after", "PRIORITY": "3", "__REALTIME_TIMESTAMP": "3000000"}]
    units = {API_1: {"journal": lines}, GATEWAY_1: {"journal": lines}}
    result = several(run_gated, endpoints, units, api={"since": "@2"})
    api, gateway = result["services"]
    assert api["instances"][0]["journal"] == ["after"]
    assert gateway["instances"][0]["journal"] == ["before", "after"]  # since it started (@1)


def test_one_service_or_several_not_both(run_gated, endpoints):
    result = several(run_gated, endpoints, service="api")
    assert result["failed"] and "mutually exclusive" in result["msg"]


JOURNAL = {API_1: {"journal": [
    {"MESSAGE": "starting", "PRIORITY": "6"},
    {"MESSAGE": "cache warm-up failed", "PRIORITY": "4"},
    {"MESSAGE": list(b"no DATABASE_URL \xff"), "PRIORITY": "3"},  # not UTF-8: journald gives its bytes
]}}


def test_the_journal_is_read_as_json_messages_strings_and_bytes_alike(check):
    result = check(units=JOURNAL)
    assert result["instances"][0]["journal"] == ["cache warm-up failed", "no DATABASE_URL \ufffd"]
    assert result["instances"][0]["journal_count"] == 2
    assert result["verdicts"][0].endswith(", 0 restarts, 2 journal lines >= warning")


def test_journal_priority_chooses_the_lines_and_journal_lines_cuts_them(check):
    assert check(units=JOURNAL, journal_priority="err")["instances"][0]["journal"] == ["no DATABASE_URL \ufffd"]
    assert check(units=JOURNAL, journal_priority="info")["instances"][0]["journal_count"] == 3
    newest = check(units=JOURNAL, journal_lines=1)["instances"][0]
    assert newest["journal"] == ["no DATABASE_URL \ufffd"] and newest["journal_count"] == 2
    assert check(units=JOURNAL, journal_lines=0)["instances"][0]["journal"] == []


def warnings(result):
    """The module's warnings as text (ansible-core 2.19 returns each in a WarningSummary)."""
    return [w if isinstance(w, str) else w["event"]["msg"] for w in result.get("warnings", [])]


def test_journal_lines_are_a_warning_unless_warn_on_journal_is_false(check):
    assert warnings(check(units=JOURNAL)) == [
        f"{API_1}: 2 journal lines of priority warning or worse since it started; newest: "
        "cache warm-up failed | no DATABASE_URL \ufffd"]
    assert warnings(check(units=JOURNAL, warn_on_journal=False)) == []
    assert warnings(check()) == []


# --- a worker without a port -------------------------------------------------

WORKER = "pakashop-notifications@1.service"


def test_a_notify_worker_passes_on_what_it_told_systemd(check, endpoints):
    status = {"StatusText": f"service=notifications version={endpoints.commit}"}
    result = check("notifications", units={WORKER: {"show": [status]}}, port=None, readiness="notify")
    assert result["healthy"] is True, result["verdicts"]
    assert result["instances"][0]["status_text"] == f"service=notifications version={endpoints.commit}"
    assert result["verdicts"][0].startswith(f"{WORKER}: healthy - active/running, status 'service=notifications")


def test_a_notify_worker_that_is_not_ready_by_the_timeout_fails_the_task_with_gate_ready(check):
    starting = {"ActiveState": "activating", "SubState": "start", "Job": "12"}
    result = check("notifications", units={WORKER: {"show": [starting]}}, port=None, readiness="notify",
                   timeout=1, interval=0.05, fail_on_unhealthy=True)
    assert result["failed"] is True and result["failed_gates"] == [{"unit": WORKER, "gate": "ready"}]
    assert result["msg"].startswith(
        f"notifications: {WORKER}: gate 'ready' failed - it has not told systemd READY=1 (sd_notify)")


def test_a_command_says_whether_an_instance_is_ready(check, endpoints):
    ready = check("mailer", port=None, readiness="command", readiness_command=f"echo {endpoints.commit}")
    assert ready["healthy"] is True, ready["verdicts"]
    failing = check("mailer", port=None, readiness="command", readiness_command="exit 1")
    assert failing["failed_gates"] == [{"unit": "pakashop-mailer@1.service", "gate": "ready"}]


@pytest.mark.parametrize("args, words", [
    ({"port": None}, "api: readiness http needs the port its health endpoint answers on"),
    ({"readiness": "command", "readiness_command": None}, "api: readiness command needs readiness_command"),
    ({"readiness": "healthz"}, "value of readiness must be one of: http, notify, command"),
])
def test_what_a_readiness_needs_is_required(check, args, words):
    result = check(**args)
    assert result["failed"] is True and words in result["msg"]
