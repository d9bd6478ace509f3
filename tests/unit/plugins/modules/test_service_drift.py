"""pakashop.infra.service_drift on a host laid out in a temporary folder (real
release trees, ledgers, env files and units), with the instances' health on
loopback and systemctl a stand-in (conftest.py, systemd_stand_in.py): what it
calls drift, and what each kind of drift asks of the role."""

import grp
import hashlib
import os
import pwd

import pytest

from conftest import Endpoints, unit_files
from ansible_collections.pakashop.infra.plugins.modules import service_drift

SHA1_OF_HELLO = "f572d396fae9206628714fb2ce00f72e94f2258f"  # "hello\n"
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
COMMIT = Endpoints.commit
RELEASE = "20261126T104500Z-3f4a276-0000abcd"


def sha1(path):
    return hashlib.sha1(open(path, "rb").read()).hexdigest()


def wanted(path, mode, **more):
    return {"path": str(path), "owner": ME, "group": MY_GROUP, "mode": mode, **more}


def test_a_file_as_wanted_is_no_drift(tmp_path):
    path = tmp_path / "pakashop.target"
    path.write_text("hello\n")
    path.chmod(0o644)
    spec = wanted(path, "0644", checksum=SHA1_OF_HELLO)
    assert service_drift.path_drift(spec, service_drift.stat.S_ISREG, "file", checksum=sha1) == []


def test_other_content_a_mode_an_owner_and_a_missing_file_are_each_said(tmp_path):
    path = tmp_path / "pakashop.target"
    path.write_text("hello, edited by hand\n")
    path.chmod(0o600)
    spec = {**wanted(path, "0644", checksum=SHA1_OF_HELLO), "owner": "nobody"}
    found = service_drift.path_drift(spec, service_drift.stat.S_ISREG, "file", checksum=sha1)
    assert found == [f"{path} has other content", f"{path} has mode 0600, not 0644",
                     f"{path} has owner {ME}, not nobody"]
    missing = wanted(tmp_path / "gone", "0644", checksum=SHA1_OF_HELLO)
    assert service_drift.path_drift(missing, service_drift.stat.S_ISREG, "file", checksum=sha1) == [
        f"{tmp_path}/gone is missing"]


def test_a_user_with_another_shell_or_home_is_drift():
    root = pwd.getpwnam("root")
    assert service_drift.user_drift("root", root.pw_dir, root.pw_shell) == []
    assert service_drift.user_drift("root", "/opt/pakashop/api", root.pw_shell) == [
        f"user root's home is {root.pw_dir}, not /opt/pakashop/api"]
    assert service_drift.user_drift("pakashop-no-such-user", "/", "/bin/sh") == [
        "user pakashop-no-such-user does not exist"]


@pytest.fixture
def api_host(host, tmp_path):
    """The api (2 instances on two loopback ports) as a deploy leaves it; (host, module args, files)."""
    served = Endpoints(["api", "api"])
    files = unit_files("api", served.base, 2, "hello\n")
    host.release("api", RELEASE, COMMIT, files)
    host.activate("api", RELEASE, files)
    (tmp_path / "shared").mkdir(mode=0o750)
    root = pwd.getpwnam("root")
    service = {"service": "api", "release": RELEASE, "commit": COMMIT, "instances": 2, "port": served.base,
               "socket": True, "user": "root", "home": root.pw_dir, "shell": root.pw_shell,
               "directories": [wanted(tmp_path / "shared", "0750")],
               "config": {name: hashlib.sha1(text.encode()).hexdigest() for name, text in files.items()}}
    yield host, service, files
    served.close()


def drift(run_gated, host, services, units=None, **more):
    result = run_gated("service_drift", host.args(services, **more), units=units)[0]
    assert not result.get("failed"), result
    return result


def test_a_host_as_a_deploy_leaves_it_has_no_drift(run_gated, api_host):
    host, service, _files = api_host
    result = drift(run_gated, host, [service])
    assert result["converged"] and result["host"] == []
    assert result["services"] == [{"service": "api", "drift": [], "converged": True, "laid_out": True,
                                   "prepared": True, "restarts": False}]


def test_an_env_file_edited_by_hand_is_drift_that_an_activation_settles(run_gated, api_host):
    host, service, _files = api_host
    (host.etc / "api.env").write_text("hello, edited by hand\n")
    found = drift(run_gated, host, [service])["services"][0]
    assert found["drift"] == [f"{host.etc}/api.env is not the release's env file"]
    assert (found["laid_out"], found["prepared"], found["restarts"], found["converged"]) == (True, True, True, False)


def test_a_unit_left_over_and_a_drop_in_lost_are_drift(run_gated, api_host):
    host, service, _files = api_host
    (host.units / "pakashop-api@3.service.d").mkdir()
    (host.units / "pakashop-api@3.service.d/port.conf").write_text("[Service]\n")
    (host.units / "pakashop-api@2.socket.d/port.conf").unlink()
    found = drift(run_gated, host, [service])["services"][0]["drift"]
    assert found == [f"{host.units}/pakashop-api@2.socket.d/port.conf is missing",
                     f"{host.units}/pakashop-api@3.service.d/port.conf is not in release {RELEASE}"]


def test_a_release_not_on_the_host_is_all_that_is_said_of_it(run_gated, api_host):
    host, service, _files = api_host
    found = drift(run_gated, host, [{**service, "release": "20261201T000000Z-0000000-00000000"}])["services"][0]
    assert found["drift"] == ["release 20261201T000000Z-0000000-00000000 of api is not on the host"]
    assert (found["prepared"], found["laid_out"]) == (False, True)


def test_a_release_that_does_not_carry_its_configuration_is_not_prepared(run_gated, api_host):
    host, service, _files = api_host
    (host.root / "api/releases" / RELEASE / ".pakashop/env").write_text("edited in the release\n")
    found = drift(run_gated, host, [service])["services"][0]
    assert found["drift"] == [f"release {RELEASE} of api does not carry the configuration it is named for"]
    assert found["prepared"] is False


def test_another_current_and_a_release_whose_gates_did_not_pass_are_drift(run_gated, api_host):
    host, service, files = api_host
    host.release("api", "other", COMMIT, files)
    assert drift(run_gated, host, [{**service, "release": "other"}])["services"][0]["drift"] == [
        f"current of api points at {RELEASE}, not other"]
    host.write_ledger("api", [{"release": RELEASE, "outcome": "activating", "commit": COMMIT}])
    assert drift(run_gated, host, [service])["services"][0]["drift"] == [
        f"the ledger has release {RELEASE} of api as activating, not active (its gates did not pass)"]


def test_a_release_that_does_not_serve_the_commit_yet_needs_no_restart(run_gated, api_host):
    host, service, _files = api_host
    found = drift(run_gated, host, [{**service, "serves": "9" * 40}])["services"][0]
    assert found["drift"] == [f"the ledger does not have release {RELEASE} of api serving {'9' * 12}"]
    assert (found["converged"], found["restarts"]) == (False, False)


def test_units_not_enabled_or_changed_on_disk_are_drift_of_the_host_or_the_service(run_gated, api_host):
    host, service, _files = api_host
    units = {"pakashop.target": {"enabled": "disabled"}, "pakashop-api@2.socket": {"enabled": "disabled"},
             "pakashop-api@1.service": {"show": [{"NeedDaemonReload": "yes"}]}}
    result = drift(run_gated, host, [service], units, host_enabled=["pakashop.target"])
    assert result["host"] == ["pakashop.target is disabled, not enabled"]
    assert result["services"][0]["drift"] == ["pakashop-api@2.socket is disabled, not enabled",
                                              "pakashop-api@1.service changed on disk since systemd loaded it"]


def test_an_instance_beyond_the_count_or_a_socket_of_a_service_without_one_is_drift(run_gated, api_host):
    host, service, _files = api_host
    units = {"pakashop-api@3.service": {"listed": "active"}, "pakashop-api@1.socket": {"listed": "active"}}
    assert drift(run_gated, host, [service], units)["services"][0]["drift"] == [
        "pakashop-api@3.service is active but the catalog has 2 instances"]
    # the same release made for a service that binds its ports itself
    for folder in (host.root / "api/releases" / RELEASE / ".pakashop/units", host.units):
        for path in sorted(folder.glob("*socket*"), reverse=True):
            for inner in path.glob("*"):
                inner.unlink()
            path.unlink() if path.is_file() else path.rmdir()
    files = {k: v for k, v in unit_files("api", service["port"], 2, "hello\n").items() if "socket" not in k}
    no_socket = {**service, "socket": False,
                 "config": {name: hashlib.sha1(text.encode()).hexdigest() for name, text in files.items()}}
    assert drift(run_gated, host, [no_socket], units)["services"][0]["drift"] == [
        "pakashop-api@3.service is active but the catalog has 2 instances",
        "pakashop-api@1.socket is active, but the service binds its port itself (socket: false)"]


def test_an_unhealthy_instance_is_drift_when_nothing_else_is(run_gated, api_host):
    host, service, _files = api_host
    failed = {"ActiveState": "failed", "SubState": "failed", "MainPID": "0"}
    found = drift(run_gated, host, [service], {"pakashop-api@2.service": {"show": [failed]}})["services"][0]
    assert len(found["drift"]) == 1 and found["drift"][0].startswith(
        "pakashop-api@2.service: gate 'unit' failed - the unit is not active/running (failed/failed")
    assert found["restarts"] is True


def test_the_health_of_every_instance_is_read_with_one_systemctl_show(run_gated, api_host):
    host, service, _files = api_host
    result, calls = run_gated("service_drift", host.args([service]))
    assert result["converged"], result
    health_reads = [c for c in calls if c.startswith("show ") and "--property=ActiveState" in c]
    assert len(health_reads) == 1 and all(f"pakashop-api@{i}.service" in health_reads[0] for i in (1, 2))


def test_an_account_that_differs_is_drift_for_the_layout_tasks(run_gated, api_host):
    host, service, _files = api_host
    found = drift(run_gated, host, [{**service, "user": "pakashop-no-such-user"}])["services"][0]
    assert found["drift"] == ["user pakashop-no-such-user does not exist"]
    assert found["laid_out"] is False and found["prepared"] is True
