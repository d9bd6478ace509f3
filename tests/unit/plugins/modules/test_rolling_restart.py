"""pakashop.infra.rolling_restart's order and stops, run by Ansible's module
runner against real HTTP health endpoints on loopback. systemctl and
journalctl are stand-ins on PATH (conftest.py, systemd_stand_in.py) that can
fail a unit, restart it or refuse its restart: the real restarts and gates run
on the lab's hosts in the integration tests and Molecule."""

import time

API_1 = "pakashop-api@1.service"


def restart(run_gated, services, disabled=(), check=False, units=None, **args):
    units = {**{unit: {"enabled": "disabled"} for unit in disabled}, **(units or {})}
    result, calls = run_gated("rolling_restart", {
        "services": services, "settle": 0.2, "interval": 0.05, "timeout": 2,
        **({"_ansible_check_mode": True} if check else {}), **args}, units=units)
    return result, [c.split()[1] for c in calls if c.startswith("restart ")], calls


def two_services(endpoints):
    """api@1 and api@2 on the first two ports, gateway@1 on the third."""
    return [{"service": "api", "instances": 2, "port": endpoints.base, "expected_version": endpoints.commit},
            {"service": "gateway", "port": endpoints.base + 2, "expected_version": endpoints.commit}]


def test_instances_restart_in_waves_instance_1_of_every_service_first(run_gated, endpoints):
    result, restarts, _calls = restart(run_gated, two_services(endpoints))
    assert result["changed"] is True, result
    # Service by service would be api@1, api@2, gateway@1.
    assert restarts == ["pakashop-api@1.service", "pakashop-gateway@1.service", "pakashop-api@2.service"]
    assert result["restarted"] == restarts and result["failed_gates"] == []


def test_a_failed_gate_stops_before_the_next_wave(run_gated, endpoints):
    endpoints.answers[endpoints.base]["version"] = "0" * 40  # api@1 keeps answering an old commit
    result, restarts, _calls = restart(run_gated, two_services(endpoints))
    assert result["failed"] is True
    assert restarts == ["pakashop-api@1.service", "pakashop-gateway@1.service"]  # api@2 untouched
    assert result["failed_gates"] == [{"unit": "pakashop-api@1.service", "gate": "version"}]
    assert "pakashop-api@1.service: gate 'version' failed" in result["msg"]


def test_only_unhealthy_restarts_only_the_instance_on_another_commit(run_gated, endpoints):
    endpoints.answers[endpoints.base + 1]["version"] = "0" * 40
    services = [two_services(endpoints)[0]]
    result, restarts, _calls = restart(run_gated, services, only_unhealthy=True, timeout=1)
    assert restarts == ["pakashop-api@2.service"]
    assert result["failed_gates"] == [{"unit": "pakashop-api@2.service", "gate": "version"}]


def test_a_healthy_service_is_left_alone_but_a_disabled_instance_is_enabled(run_gated, endpoints):
    services = [two_services(endpoints)[0]]
    result, restarts, calls = restart(run_gated, services, disabled=["pakashop-api@2.service"],
                                      only_unhealthy=True)
    assert restarts == [] and result["enabled"] == ["pakashop-api@2.service"]
    assert result["changed"] is True
    assert "enable --quiet pakashop-api@2.service" in calls


def test_check_mode_restarts_and_enables_nothing_and_says_what_it_would(run_gated, endpoints):
    result, restarts, calls = restart(run_gated, two_services(endpoints), check=True,
                                      disabled=["pakashop-api@2.service"])
    assert restarts == [] and not any(c.startswith("enable") for c in calls)
    assert result["changed"] is True
    assert result["restarted"] == ["pakashop-api@1.service", "pakashop-gateway@1.service",
                                   "pakashop-api@2.service"]


def test_another_service_on_the_port_fails_identity_and_stops_the_waves(run_gated, endpoints):
    endpoints.answers[endpoints.base]["service"] = "gateway"  # the catalog put api@1 on the gateway's port
    result, restarts, _calls = restart(run_gated, two_services(endpoints), timeout=1)
    assert restarts == ["pakashop-api@1.service", "pakashop-gateway@1.service"]  # api@2 untouched
    assert result["failed_gates"] == [{"unit": "pakashop-api@1.service", "gate": "identity"}]
    assert (f"pakashop-api@1.service: gate 'identity' failed - port {endpoints.base} is answered by "
            "gateway, not api (is another service on this port?)") in result["msg"]


def test_each_service_reads_the_fields_of_its_own_entry(run_gated, endpoints):
    endpoints.answers[endpoints.base] = {"name": "api", "commit": endpoints.commit}
    endpoints.answers[endpoints.base + 1] = {"name": "api", "commit": endpoints.commit}
    del endpoints.answers[endpoints.base + 2]["service"]
    services = two_services(endpoints)
    services[0].update(identity_field="name", version_field="commit")
    services[1].update(identity_field="")  # the gateway's health does not say its name
    result, restarts, _calls = restart(run_gated, services)
    assert result["failed_gates"] == [], result["verdicts"]
    assert restarts == ["pakashop-api@1.service", "pakashop-gateway@1.service", "pakashop-api@2.service"]


def test_an_instance_that_fails_after_its_restart_fails_gate_unit_and_stops_the_waves(run_gated, endpoints):
    failed = {"ActiveState": "failed", "SubState": "failed", "MainPID": "0"}
    result, restarts, _calls = restart(run_gated, two_services(endpoints), units={API_1: {"show": [failed]}})
    assert result["failed"] is True
    assert restarts == [API_1, "pakashop-gateway@1.service"]  # api@2 untouched
    assert result["failed_gates"] == [{"unit": API_1, "gate": "unit"}]
    assert f"{API_1}: gate 'unit' failed - the unit is not active/running (failed/failed" in result["msg"]


def test_a_crash_looping_instance_fails_gate_restarting_and_stops_the_waves(run_gated, endpoints):
    # systemd restarts it twice while it is probed (a new PID each time), then it holds.
    looping = [{"NRestarts": str(n), "MainPID": str(42 + n)} for n in (0, 1, 2)]
    # settle longer than three probes take on a loaded machine (with 0.2 s api@1
    # could pass as stable between two probes); gateway@1 holds the wave that long
    result, restarts, _calls = restart(run_gated, two_services(endpoints), units={API_1: {"show": looping}},
                                       settle=3, timeout=10)
    assert restarts == [API_1, "pakashop-gateway@1.service"]
    assert result["failed_gates"] == [{"unit": API_1, "gate": "restarting"}]
    assert f"{API_1}: gate 'restarting' failed - it restarted while being checked" in result["msg"]


def test_an_instance_systemctl_cannot_restart_fails_gate_unit_with_systemctl_s_error(run_gated, endpoints):
    error = f"Job for {API_1} failed because the control process exited with error code."
    result, restarts, _calls = restart(run_gated, two_services(endpoints), units={API_1: {"restart": error}})
    assert restarts == [API_1, "pakashop-gateway@1.service"]
    assert result["failed_gates"] == [{"unit": API_1, "gate": "unit"}]
    assert result["msg"].endswith(f"(systemctl: {error})")


def test_an_instance_that_died_and_waits_for_systemd_s_restart_fails_at_once_and_its_socket_stops(
        run_gated, endpoints):
    # crashed at start: systemd holds it in auto-restart (RestartSec=) and the socket keeps listening
    crashed = {"ActiveState": "activating", "SubState": "auto-restart", "MainPID": "0", "NRestarts": "1"}
    services = two_services(endpoints)
    services[0]["socket"] = True
    started = time.monotonic()
    result, restarts, calls = restart(run_gated, services, units={API_1: {"show": [crashed]}}, timeout=30)
    assert time.monotonic() - started < 15  # not the 30 s timeout
    assert restarts == [API_1, "pakashop-gateway@1.service"]  # api@2 untouched
    assert result["failed_gates"] == [{"unit": API_1, "gate": "unit"}]
    assert "the unit is not active/running (activating/auto-restart" in result["msg"]
    # no connection waits on the socket of an instance that does not come up
    assert result["stopped"] == ["pakashop-api@1.socket"] and "stop pakashop-api@1.socket" in calls


def test_a_wave_that_passes_stops_no_socket(run_gated, endpoints):
    services = two_services(endpoints)
    services[0]["socket"] = True
    result, _restarts, calls = restart(run_gated, services)
    assert result["failed_gates"] == [] and result["stopped"] == []
    assert not [c for c in calls if c.startswith("stop ")]


NOTIFICATIONS_1 = "pakashop-notifications@1.service"


def with_worker(endpoints, **worker):
    """The api (HTTP) beside a notify worker without a port."""
    return [two_services(endpoints)[0],
            {"service": "notifications", "readiness": "notify", "expected_version": endpoints.commit, **worker}]


def test_a_notify_worker_is_restarted_without_blocking_and_passes_once_it_says_ready(run_gated, endpoints):
    starting = {"ActiveState": "activating", "SubState": "start", "Job": "7", "MainPID": "77"}
    ready = {"StatusText": f"service=notifications version={endpoints.commit}", "MainPID": "77"}
    result, _restarts, calls = restart(run_gated, with_worker(endpoints),
                                       units={NOTIFICATIONS_1: {"show": [starting, starting, ready]}})
    assert result["failed_gates"] == [], result["verdicts"]
    assert result["restarted"] == [API_1, NOTIFICATIONS_1, "pakashop-api@2.service"]
    assert f"restart --no-block {NOTIFICATIONS_1}" in calls
    assert f"restart {API_1}" in calls  # an HTTP instance's restart waits for systemd, as before


def test_a_notify_worker_that_never_says_ready_fails_gate_ready_after_the_timeout(run_gated, endpoints):
    starting = {"ActiveState": "activating", "SubState": "start", "Job": "7", "MainPID": "77"}
    started = time.monotonic()
    result, _restarts, calls = restart(run_gated, with_worker(endpoints), timeout=1,
                                       units={NOTIFICATIONS_1: {"show": [starting]}})
    assert time.monotonic() - started < 15
    assert result["failed"] is True
    assert result["failed_gates"] == [{"unit": NOTIFICATIONS_1, "gate": "ready"}]
    assert f"{NOTIFICATIONS_1}: gate 'ready' failed - it has not told systemd READY=1 (sd_notify)" in result["msg"]
    assert not any("pakashop-api@2" in c for c in calls if c.startswith("restart"))  # the next wave is not touched
    assert result["stopped"] == []  # a worker has no socket


def test_a_service_that_needs_a_port_or_a_command_is_refused(run_gated, endpoints):
    no_port = restart(run_gated, [{"service": "api", "expected_version": endpoints.commit}])[0]
    assert no_port["failed"] is True
    assert no_port["msg"] == "api: readiness http needs the port its health endpoint answers on"
    no_command = restart(run_gated, with_worker(endpoints, readiness="command", readiness_command=None))[0]
    assert no_command["msg"].startswith("notifications: readiness command needs readiness_command")
