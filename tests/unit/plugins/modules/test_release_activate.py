"""pakashop.infra.release_activate on a host laid out in a temporary folder:
release trees, ledgers, env files and units in real files; the instances'
health on loopback and systemctl a stand-in (conftest.py, systemd_stand_in.py).
The real systemd runs on the lab's hosts in the integration tests."""

import json

import pytest

from conftest import FAST, Endpoints, unit_files

OLD = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
NEW = "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed"
OLD_ID = "20261120T091500Z-a1b2c3d-00000001"
NEW_ID = "20261126T104500Z-3f4a276-00000002"
CRASHED = {"ActiveState": "activating", "SubState": "auto-restart", "NRestarts": "1"}
RUNNING = {}


@pytest.fixture
def api():
    """api@1 and api@2 answering their health, at first with the new commit."""
    served = Endpoints(["api", "api"])
    for answer in served.answers.values():
        answer["version"] = NEW
    yield served
    served.close()


def api_on(host, api, old_env="OLD=1\n", new_env="NEW=1\n"):
    """The api on the old release, its new release prepared; (old files, new files, service args)."""
    old_files, new_files = unit_files("api", api.base, 2, old_env), unit_files("api", api.base, 2, new_env)
    host.release("api", OLD_ID, OLD, old_files)
    host.release("api", NEW_ID, NEW, new_files)
    host.activate("api", OLD_ID, old_files)
    return old_files, new_files, {"service": "api", "release": NEW_ID, "instances": 2, "port": api.base,
                                  "socket": True, "serves": NEW}


def args(host, services, **more):
    return host.args(services, actor="dev", **FAST, **more)


def restarts(calls):
    return [call.split()[-1] for call in calls if call.startswith("restart ")]


def test_code_and_configuration_switch_together_and_the_ledger_confirms(run_gated, host, api):
    _old, new_files, service = api_on(host, api)
    result, calls = run_gated("release_activate", args(host, [service]))
    assert result["changed"] and not result.get("failed"), result
    assert host.current("api") == NEW_ID
    assert host.installed("api") == new_files
    assert "daemon-reload" in calls
    assert restarts(calls) == ["pakashop-api@1.service", "pakashop-api@2.service"]  # one at a time
    assert [(e["action"], e["outcome"]) for e in host.ledger("api")][-2:] == [("activate", "activating"),
                                                                              ("confirm", "active")]
    assert host.ledger("api")[-1]["serves"] == NEW
    assert result["services"][0]["outcome"] == "activated"


def test_a_crash_at_start_goes_back_to_the_previous_code_and_configuration(run_gated, host, api):
    old_files, _new, service = api_on(host, api)
    for answer in api.answers.values():
        answer["version"] = OLD  # only the previous release ever answers
    units = {"pakashop-api@1.service": {"phases": [[RUNNING], [CRASHED], [RUNNING]]}}
    result, calls = run_gated("release_activate", args(host, [service]), units)
    assert result["failed"]
    assert (result["service"], result["gate"]) == ("api", "unit")
    assert "Went back (api to " + OLD_ID + "), which is serving and healthy again" in result["msg"]
    assert result["back_healthy"] is True  # a host behind target groups is registered back
    assert host.current("api") == OLD_ID
    assert host.installed("api") == old_files, "the env file and the units are the previous release's again"
    assert restarts(calls) == ["pakashop-api@1.service", "pakashop-api@1.service"]  # api@2 never left
    ledger = [(e["release"], e["action"], e["outcome"]) for e in host.ledger("api")]
    assert ledger[-4:] == [(NEW_ID, "activate", "activating"), (NEW_ID, "leave", "failed"),
                           (OLD_ID, "rollback", "activating"), (OLD_ID, "confirm", "active")]
    assert host.ledger("api")[-3]["failed_gate"] == "unit"


def test_a_unit_systemd_refuses_to_enable_goes_back_and_says_whether_it_is_healthy(run_gated, host, api):
    old_files, _new, service = api_on(host, api)
    for answer in api.answers.values():
        answer["version"] = OLD  # the previous release answers once it is back
    units = {"pakashop-api@2.service": {"enabled": "disabled", "enable": "Unit file is masked."}}
    result, calls = run_gated("release_activate", args(host, [service]), units)
    assert result["failed"] and "systemd could not enable pakashop-api@2.service" in result["msg"], result
    assert result["back_healthy"] is True  # a host behind target groups is registered back
    assert host.current("api") == OLD_ID and host.installed("api") == old_files


def test_every_service_the_call_moved_goes_back_with_the_one_that_failed(run_gated, host, api):
    old_files, _new, service = api_on(host, api)
    gateway = Endpoints(["gateway"])
    try:
        for answer in [*api.answers.values(), *gateway.answers.values()]:
            answer["version"] = OLD
        gw_old, gw_new = unit_files("gateway", gateway.base, 1, "G=1\n"), unit_files("gateway", gateway.base, 1, "G=2\n")
        host.release("gateway", "gw-old", OLD, gw_old)
        host.release("gateway", "gw-new", NEW, gw_new)
        host.activate("gateway", "gw-old", gw_old)
        # The gateway restarts first in wave 1 (the api waits for it) and answers the old commit:
        # its gate fails on the version, and the api, which had not restarted yet, goes back too.
        services = [{"service": "gateway", "release": "gw-new", "port": gateway.base, "socket": True},
                    {**service, "after": ["gateway"]}]
        result, calls = run_gated("release_activate", args(host, services))
    finally:
        gateway.close()
    assert (result["service"], result["gate"]) == ("gateway", "version")
    assert host.current("gateway") == "gw-old" and host.current("api") == OLD_ID
    assert host.installed("api") == old_files
    assert restarts(calls) == ["pakashop-gateway@1.service", "pakashop-gateway@1.service"]
    assert [e["outcome"] for e in host.ledger("api") if e["release"] == NEW_ID] == ["activating", "rolled_back"]
    assert sorted(result["went_back"]) == [f"api/{OLD_ID}", "gateway/gw-old"]


def test_instances_restart_in_waves_each_service_after_those_it_names(run_gated, host, api):
    _old, _new, service = api_on(host, api)
    gateway = Endpoints(["gateway"])
    try:
        gateway.answers[gateway.base]["version"] = NEW
        files = unit_files("gateway", gateway.base, 1, "G=1\n")
        host.release("gateway", "gw-new", NEW, files)
        services = [{"service": "gateway", "release": "gw-new", "port": gateway.base, "socket": True,
                     "after": ["api"]}, service]
        result, calls = run_gated("release_activate", args(host, services))
    finally:
        gateway.close()
    assert not result.get("failed"), result
    # wave 1: api@1, then the gateway (after api); wave 2: api@2
    assert restarts(calls) == ["pakashop-api@1.service", "pakashop-gateway@1.service", "pakashop-api@2.service"]


def test_a_release_already_current_restarts_only_its_unhealthy_instances(run_gated, host, api):
    files = unit_files("api", api.base, 2, "NEW=1\n")
    host.release("api", NEW_ID, NEW, files)
    host.activate("api", NEW_ID, files)
    host.write_ledger("api", [{"release": NEW_ID, "action": "confirm", "outcome": "active", "commit": NEW}])
    units = {"pakashop-api@2.service": {"phases": [[{"ActiveState": "failed", "SubState": "failed"}], [RUNNING]]}}
    service = {"service": "api", "release": NEW_ID, "instances": 2, "port": api.base, "socket": True}
    result, calls = run_gated("release_activate", args(host, [service]), units)
    assert not result.get("failed"), result
    assert restarts(calls) == ["pakashop-api@2.service"]
    assert "daemon-reload" not in calls
    assert result["services"][0]["outcome"] == "restarted"


def test_nothing_to_do_changes_nothing(run_gated, host, api):
    files = unit_files("api", api.base, 2, "NEW=1\n")
    host.release("api", NEW_ID, NEW, files)
    host.activate("api", NEW_ID, files)
    host.write_ledger("api", [{"release": NEW_ID, "action": "confirm", "outcome": "active", "commit": NEW}])
    before = host.ledger("api")
    service = {"service": "api", "release": NEW_ID, "instances": 2, "port": api.base, "socket": True}
    result, calls = run_gated("release_activate", args(host, [service]))
    assert not result["changed"]
    assert restarts(calls) == [] and host.ledger("api") == before


def test_a_host_that_runs_none_of_the_services_asked_changes_nothing(run_gated, host):
    """rollback.yml -e services=moderation reaches a host without moderation with no services."""
    result, calls = run_gated("release_activate", args(host, []))
    assert not result.get("failed") and not result["changed"], result
    assert result["services"] == [] and restarts(calls) == []


def test_a_release_that_serves_a_later_commit_gets_a_ledger_entry_and_no_restart(run_gated, host, api):
    files = unit_files("api", api.base, 2, "NEW=1\n")
    host.release("api", NEW_ID, NEW, files)
    host.activate("api", NEW_ID, files)
    host.write_ledger("api", [{"release": NEW_ID, "action": "confirm", "outcome": "active", "commit": NEW}])
    later = "9" * 40
    service = {"service": "api", "release": NEW_ID, "instances": 2, "port": api.base, "socket": True, "serves": later}
    result, calls = run_gated("release_activate", args(host, [service]))
    assert result["changed"] and restarts(calls) == []
    assert (host.ledger("api")[-1]["action"], host.ledger("api")[-1]["serves"]) == ("serve", later)


def test_check_mode_says_what_would_change_and_changes_nothing(run_gated, host, api):
    old_files, _new, service = api_on(host, api)
    before = host.ledger("api")
    result, calls = run_gated("release_activate", {**args(host, [service]), "_ansible_check_mode": True,
                                                   "_ansible_diff": True})
    assert result["changed"]
    assert result["services"][0]["configured"] and result["restarted"] == ["pakashop-api@1.service",
                                                                           "pakashop-api@2.service"]
    assert host.current("api") == OLD_ID and host.installed("api") == old_files and host.ledger("api") == before
    assert restarts(calls) == [] and "daemon-reload" not in calls
    texts = json.dumps(result["diff"])
    assert OLD_ID in texts and NEW_ID in texts
    assert "NEW=1" not in texts and "OLD=1" not in texts, "an env file's content (secrets) is never shown"


def test_check_mode_takes_a_release_the_run_would_prepare_and_names_it(run_gated, host, api):
    old_files = unit_files("api", api.base, 2, "OLD=1\n")
    host.release("api", OLD_ID, OLD, old_files)
    host.activate("api", OLD_ID, old_files)
    service = {"service": "api", "release": NEW_ID, "instances": 2, "port": api.base, "socket": True}
    result, calls = run_gated("release_activate", {**args(host, [service]), "_ansible_check_mode": True,
                                                   "_ansible_diff": True})
    assert not result.get("failed") and result["changed"], result
    assert result["services"][0]["outcome"] == "activated"
    assert host.current("api") == OLD_ID and host.installed("api") == old_files and restarts(calls) == []
    texts = json.dumps(result["diff"])
    assert NEW_ID in texts and "not prepared yet" in texts


def test_a_release_that_is_not_prepared_is_refused_before_anything_changes(run_gated, host, api):
    old_files, _new, service = api_on(host, api)
    result, calls = run_gated("release_activate", args(host, [service, {**service, "service": "api", "release": "nope"}]))
    assert result["failed"] and "release nope is not prepared on the host" in result["msg"]
    assert host.current("api") == OLD_ID and host.installed("api") == old_files and restarts(calls) == []


def test_a_rollback_goes_to_the_previous_good_release(run_gated, host, api):
    new_files = unit_files("api", api.base, 2, "NEW=1\n")
    old_files = unit_files("api", api.base, 2, "OLD=1\n")
    host.release("api", OLD_ID, OLD, old_files)
    host.release("api", NEW_ID, NEW, new_files)
    host.activate("api", NEW_ID, new_files)
    host.write_ledger("api", [{"release": OLD_ID, "outcome": "active", "commit": OLD},
                              {"release": NEW_ID, "outcome": "active", "commit": NEW}])
    for answer in api.answers.values():
        answer["version"] = OLD
    service = {"service": "api", "rollback": True, "instances": 2, "port": api.base, "socket": True}
    result, _calls = run_gated("release_activate", args(host, [service]))
    assert not result.get("failed"), result
    assert host.current("api") == OLD_ID and host.installed("api") == old_files
    assert [(e["release"], e.get("action"), e["outcome"]) for e in host.ledger("api")][-3:] == [
        (NEW_ID, "leave", "rolled_back"), (OLD_ID, "rollback", "activating"), (OLD_ID, "confirm", "active")]


def test_a_rollback_with_nowhere_to_go_is_refused(run_gated, host, api):
    files = unit_files("api", api.base, 2, "NEW=1\n")
    host.release("api", NEW_ID, NEW, files)
    host.activate("api", NEW_ID, files)
    service = {"service": "api", "rollback": True, "instances": 2, "port": api.base, "socket": True}
    result, calls = run_gated("release_activate", args(host, [service]))
    assert result["failed"] and f"api cannot go back from {NEW_ID}: no earlier good release" in result["msg"]
    assert restarts(calls) == []


def test_a_rollback_leaves_a_service_that_the_last_deploy_left_alone(run_gated, host, api):
    files = unit_files("api", api.base, 2, "NEW=1\n")
    host.release("api", OLD_ID, OLD, unit_files("api", api.base, 2, "OLD=1\n"))
    host.release("api", NEW_ID, NEW, files)
    host.activate("api", NEW_ID, files)
    host.write_ledger("api", [{"release": OLD_ID, "outcome": "active", "commit": OLD},
                              {"release": NEW_ID, "action": "confirm", "outcome": "active", "commit": NEW},
                              {"release": NEW_ID, "action": "serve", "outcome": "active", "commit": NEW,
                               "serves": "9" * 40}])
    before = host.ledger("api")
    service = {"service": "api", "rollback": True, "instances": 2, "port": api.base, "socket": True}
    result, calls = run_gated("release_activate", args(host, [service]))
    assert not result.get("failed") and not result["changed"], result
    assert host.current("api") == NEW_ID and restarts(calls) == [] and host.ledger("api") == before
    assert result["services"][0]["outcome"] == "unchanged"


def test_a_release_made_before_releases_carried_configuration_keeps_it_when_left(run_gated, host, api):
    old_files, new_files, service = api_on(host, api)
    legacy = host.root / "api/releases" / OLD_ID / ".pakashop"
    for path in sorted(legacy.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    legacy.rmdir()
    result, _calls = run_gated("release_activate", args(host, [service]))
    assert not result.get("failed"), result
    saved = {str(p.relative_to(legacy)): p.read_text() for p in legacy.rglob("*") if p.is_file()}
    assert saved == old_files, "what the old release ran with is saved into it, for the way back"
    assert host.installed("api") == new_files


def test_instances_beyond_the_count_are_stopped_and_their_drop_ins_removed(run_gated, host, api):
    old_files, _new, service = api_on(host, api)
    three = unit_files("api", api.base, 3, "OLD=1\n")
    # the host had three instances
    for name, text in three.items():
        if "@3." in name:
            target = host.units / name[len("units/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    result, calls = run_gated("release_activate", args(host, [service]))
    assert not result.get("failed"), result
    assert "disable --now --quiet pakashop-api@3.socket" in calls
    assert "disable --now --quiet pakashop-api@3.service" in calls
    assert not (host.units / "pakashop-api@3.service.d").exists()
