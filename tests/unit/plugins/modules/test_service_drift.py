"""pakashop.infra.service_drift's checks on real files in a temporary folder:
what it calls drift and what it does not. The module as a whole runs through
Ansible's module runner, against health endpoints on loopback and a
systemctl stand-in (conftest.py, systemd_stand_in.py); the real systemd is
checked on the lab's hosts by the integration tests."""

import grp
import hashlib
import json
import os
import pwd

import pytest

from ansible_collections.pakashop.infra.plugins.module_utils._units import dropin_text
from ansible_collections.pakashop.infra.plugins.modules import service_drift

SHA1_OF_HELLO = "f572d396fae9206628714fb2ce00f72e94f2258f"  # "hello\n"
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def sha1(path):
    return hashlib.sha1(open(path, "rb").read()).hexdigest()


def wanted(path, mode, **more):
    return {"path": str(path), "owner": ME, "group": MY_GROUP, "mode": mode, **more}


def test_a_file_as_wanted_is_no_drift(tmp_path):
    path = tmp_path / "api.env"
    path.write_text("hello\n")
    path.chmod(0o600)
    spec = wanted(path, "0600", checksum=SHA1_OF_HELLO)
    assert service_drift.path_drift(spec, service_drift.stat.S_ISREG, "file", checksum=sha1) == []


def test_other_content_a_mode_an_owner_and_a_missing_file_are_each_said(tmp_path):
    path = tmp_path / "api.env"
    path.write_text("hello, edited by hand\n")
    path.chmod(0o644)
    spec = {**wanted(path, "0600", checksum=SHA1_OF_HELLO), "owner": "nobody"}
    found = service_drift.path_drift(spec, service_drift.stat.S_ISREG, "file", checksum=sha1)
    assert found == [f"{path} has other content", f"{path} has mode 0644, not 0600",
                     f"{path} has owner {ME}, not nobody"]
    missing = wanted(tmp_path / "gone.env", "0600", checksum=SHA1_OF_HELLO)
    assert service_drift.path_drift(missing, service_drift.stat.S_ISREG, "file", checksum=sha1) == [
        f"{tmp_path}/gone.env is missing"]


def test_a_file_where_a_folder_should_be_is_drift(tmp_path):
    (tmp_path / "shared").write_text("")
    spec = wanted(tmp_path / "shared", "0750")
    assert service_drift.path_drift(spec, service_drift.stat.S_ISDIR, "folder") == [
        f"{tmp_path}/shared is not a folder"]


def test_a_lost_drop_in_and_an_extra_instance_are_drift(tmp_path):
    for instance, port in ((1, 8101), (3, 8103)):
        folder = tmp_path / f"pakashop-api@{instance}.service.d"
        folder.mkdir()
        (folder / "port.conf").write_text(dropin_text("pakashop-api", instance, port))
    assert service_drift.dropin_drift(str(tmp_path), "pakashop-api", 2, 8101, False) == [
        "pakashop-api@2.service has no port drop-in for port 8102",
        "pakashop-api@3.service has a drop-in but the catalog has 2 instances"]
    assert service_drift.dropin_drift(str(tmp_path), "pakashop-api", 1, 8101, False)[1:] == []


def release_tree(tmp_path, releases, current, outcome):
    for release in releases:
        (tmp_path / "opt/api/releases" / release).mkdir(parents=True)
    (tmp_path / "opt/api/current").symlink_to(f"releases/{current}")
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger/api.json").write_text(json.dumps(
        {"service": "api", "entries": [{"release": current, "outcome": outcome}]}))
    return {"root": str(tmp_path / "opt"), "ledger_dir": str(tmp_path / "ledger"), "service": "api"}


def test_the_release_counts_only_when_current_and_active(tmp_path):
    params = release_tree(tmp_path, ["r1", "r2"], "r1", "active")
    assert service_drift.release_drift({**params, "release": "r1"}) == []
    assert service_drift.release_drift({**params, "release": "r2"}) == ["current points at r1, not r2"]
    assert service_drift.release_drift({**params, "release": "r3"}) == [
        "release r3 of api is not on the host"]


def test_a_release_whose_gates_did_not_pass_is_drift(tmp_path):
    params = release_tree(tmp_path, ["r1"], "r1", "activating")
    assert service_drift.release_drift({**params, "release": "r1"}) == [
        "the ledger has release r1 as activating, not active (its gates did not pass)"]


def test_a_user_with_another_shell_or_home_is_drift():
    root = pwd.getpwnam("root")
    assert service_drift.user_drift("root", root.pw_dir, root.pw_shell) == []
    assert service_drift.user_drift("root", "/opt/pakashop/api", root.pw_shell) == [
        f"user root's home is {root.pw_dir}, not /opt/pakashop/api"]
    assert service_drift.user_drift("pakashop-no-such-user", "/", "/bin/sh") == [
        "user pakashop-no-such-user does not exist"]


@pytest.fixture
def host(tmp_path, endpoints):
    """A host as the role leaves api (2 instances on the endpoints' ports) in
    tmp_path: release r1 current and active, an env file, a folder, the port
    drop-ins; the module's args for it."""
    tree = release_tree(tmp_path, ["r1", "r2"], "r1", "active")
    env_file = tmp_path / "api.env"
    env_file.write_text("hello\n")
    env_file.chmod(0o600)
    (tmp_path / "shared").mkdir(mode=0o750)
    for instance in (1, 2):
        folder = tmp_path / f"systemd/pakashop-api@{instance}.service.d"
        folder.mkdir(parents=True)
        (folder / "port.conf").write_text(dropin_text("pakashop-api", instance, endpoints.base + instance - 1))
    root = pwd.getpwnam("root")
    return {**tree, "release": "r1", "expected_version": endpoints.commit, "instances": 2, "port": endpoints.base,
            "user": "root", "home": root.pw_dir, "shell": root.pw_shell, "unit_dir": str(tmp_path / "systemd"),
            "directories": [wanted(tmp_path / "shared", "0750")],
            "files": [wanted(env_file, "0600", checksum=SHA1_OF_HELLO)], "enabled": ["pakashop.target"]}


# The api binds its ports itself (socket: false): systemd has no socket of it listening.
NO_SOCKETS = {f"pakashop-api@{i}.socket": {"show": [{"ActiveState": "inactive", "SubState": "dead"}]}
              for i in (1, 2)}


def drift(run_gated, args, units=None):
    return run_gated("service_drift", args, units={**NO_SOCKETS, **(units or {})})[0]


def test_a_host_as_the_role_leaves_it_has_no_drift(run_gated, host):
    result = drift(run_gated, host)
    assert result == {**result, "changed": False, "drift": [], "converged": True, "configured": True,
                      "needs_daemon_reload": False}


def test_a_unit_not_enabled_is_drift_of_the_configuration(run_gated, host):
    units = {"pakashop.target": {"enabled": "static"}, "pakashop-api@2.service": {"enabled": "disabled"}}
    result = drift(run_gated, host, units)
    assert result["drift"] == ["pakashop.target is static, not enabled",
                               "pakashop-api@2.service is disabled, not enabled"]
    assert result["configured"] is False and result["converged"] is False


def test_a_unit_systemctl_does_not_know_and_those_after_it_are_unknown(run_gated, host):
    # systemctl is-enabled stops at the first unit it cannot tell about.
    result = drift(run_gated, host, {"pakashop-api@1.service": {"enabled": None}})
    assert result["drift"] == ["pakashop-api@1.service is unknown, not enabled",
                               "pakashop-api@2.service is unknown, not enabled"]


def test_a_unit_file_changed_since_systemd_loaded_it_is_drift_and_needs_a_daemon_reload(run_gated, host):
    result = drift(run_gated, host, {"pakashop-api@2.service": {"show": [{"NeedDaemonReload": "yes"}]}})
    assert result["drift"] == ["pakashop-api@2.service changed on disk since systemd loaded it"]
    assert result["needs_daemon_reload"] is True and result["configured"] is False


def test_another_release_and_an_unhealthy_instance_are_drift_but_not_of_the_configuration(run_gated, host):
    failed = {"ActiveState": "failed", "SubState": "failed", "MainPID": "0"}
    result = drift(run_gated, {**host, "release": "r2"}, {"pakashop-api@2.service": {"show": [failed]}})
    assert result["drift"][0] == "current points at r1, not r2"
    assert result["drift"][1].startswith(
        "pakashop-api@2.service: gate 'unit' failed - the unit is not active/running (failed/failed")
    assert len(result["drift"]) == 2
    assert result["configured"] is True and result["converged"] is False


def test_a_leftover_socket_unit_and_a_socket_still_listening_are_drift_of_the_configuration(
        run_gated, host, tmp_path):
    # What a failed switch to socket: false can leave: the socket unit's file, and
    # a socket that would start its instance again, handing it systemd's port.
    leftover = tmp_path / "systemd/pakashop-api@.socket"
    leftover.write_text("[Socket]\n")
    listening = {"pakashop-api@2.socket": {"show": [{"ActiveState": "active", "SubState": "listening"}]}}
    result = drift(run_gated, {**host, "absent_files": [str(leftover)]}, listening)
    assert result["drift"] == [f"{leftover} is still there",
                               "pakashop-api@2.socket is active, but the service binds its port itself (socket: false)"]
    assert result["configured"] is False
    leftover.unlink()
    assert drift(run_gated, {**host, "absent_files": [str(leftover)]})["drift"] == []


@pytest.fixture
def worker(tmp_path, endpoints):
    """A host as the role leaves the notifications worker (no port, readiness notify):
    release r1 current and active, one instance drop-in that sets nothing."""
    tree = release_tree(tmp_path, ["r1"], "r1", "active")
    tree["service"] = "notifications"
    (tmp_path / "ledger/api.json").rename(tmp_path / "ledger/notifications.json")
    (tmp_path / "opt/api").rename(tmp_path / "opt/notifications")
    folder = tmp_path / "systemd/pakashop-notifications@1.service.d"
    folder.mkdir(parents=True)
    (folder / "instance.conf").write_text(dropin_text("pakashop-notifications", 1, None))
    root = pwd.getpwnam("root")
    return {**tree, "release": "r1", "expected_version": endpoints.commit, "readiness": "notify",
            "user": "root", "home": root.pw_dir, "shell": root.pw_shell, "unit_dir": str(tmp_path / "systemd")}


def worker_units(endpoints, **unit):
    """systemd sees the worker ready on the commit, and no socket of it."""
    ready = {"StatusText": f"service=notifications version={endpoints.commit}", **unit}
    return {"pakashop-notifications@1.service": {"show": [ready]},
            "pakashop-notifications@1.socket": {"show": [{"ActiveState": "inactive", "SubState": "dead"}]}}


def test_a_worker_as_the_role_leaves_it_has_no_drift_and_no_socket_is_asked_for(run_gated, worker, endpoints):
    result, calls = run_gated("service_drift", worker, units=worker_units(endpoints))
    assert result["drift"] == [] and result["converged"] is True, result
    assert [c for c in calls if c.startswith("is-enabled")] == ["is-enabled pakashop-notifications@1.service"]


def test_a_worker_s_port_and_socket_drop_ins_left_from_when_it_had_a_port_are_drift(run_gated, worker, endpoints,
                                                                                    tmp_path):
    folder = tmp_path / "systemd/pakashop-notifications@1.service.d"
    (folder / "instance.conf").unlink()
    (folder / "port.conf").write_text(dropin_text("pakashop-notifications", 1, 8200))
    (tmp_path / "systemd/pakashop-notifications@1.socket.d").mkdir()
    result = run_gated("service_drift", worker, units=worker_units(endpoints))[0]
    assert result["drift"] == [
        "pakashop-notifications@1.service has no drop-in of an instance without a port",
        "pakashop-notifications@1.socket has a drop-in but the service has no port"]
    assert result["configured"] is False


def test_a_worker_that_has_not_said_ready_is_drift(run_gated, worker, endpoints):
    starting = {"ActiveState": "activating", "SubState": "start", "Job": "9", "StatusText": ""}
    result = run_gated("service_drift", worker, units=worker_units(endpoints, **starting))[0]
    assert len(result["drift"]) == 1 and result["drift"][0].startswith(
        "pakashop-notifications@1.service: gate 'ready' failed - it has not told systemd READY=1")
    assert result["configured"] is True
