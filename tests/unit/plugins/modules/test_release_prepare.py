"""pakashop.infra.release_prepare unpacking a bundle of artifacts into releases that
carry their configuration, in a temporary root (the action plugin's transfer runs
on the lab's hosts in the integration tests)."""

import io
import json
import os
import tarfile

from ansible_collections.pakashop.infra.plugins.modules import release_prepare

COMMIT = "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed"
ENV = 'SECRET="hunter2"\n'
UNITS = {"units/pakashop-api@.service": "[Service]\n"}


def artifact(files):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return data.getvalue()


def bundle(tmp_path, members):
    path = tmp_path / "bundle.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def spec(release="r1", **more):
    return {"service": "api", "release": release, "commit": COMMIT, "artifact": "/controller/api.tar.gz",
            "env": ENV, "units": UNITS, "branch": "main", "environment": "staging", **more}


def test_each_release_is_unpacked_with_its_configuration_and_the_bundle_removed(tmp_path, run_info):
    path = bundle(tmp_path, {"api-r1.tar.gz": artifact({"api/main.py": "print(1)\n"})})
    result = run_info(release_prepare, releases=[spec()], root=str(tmp_path / "opt"), bundle=path)
    assert result["changed"] and result["prepared"] == ["api/r1"]
    release = tmp_path / "opt/api/releases/r1"
    assert (release / "api/main.py").read_text() == "print(1)\n"
    assert (release / "REVISION").read_text() == COMMIT + "\n"
    assert (release / ".pakashop/env").read_text() == ENV
    assert (release / ".pakashop/units/pakashop-api@.service").read_text() == UNITS["units/pakashop-api@.service"]
    assert oct(os.stat(release / ".pakashop").st_mode & 0o777) == "0o700"
    assert oct(os.stat(release / ".pakashop/env").st_mode & 0o777) == "0o600"
    assert not (release / ".unfinished").exists() and not os.path.exists(path)
    assert json.loads((release / ".pakashop-release.json").read_text())["commit"] == COMMIT
    assert "hunter2" not in json.dumps(result), "the configuration is kept out of the result"


def test_a_complete_release_is_left_as_it_is(tmp_path, run_info):
    path = bundle(tmp_path, {"api-r1.tar.gz": artifact({"api/main.py": "print(1)\n"})})
    run_info(release_prepare, releases=[spec()], root=str(tmp_path / "opt"), bundle=path)
    again = run_info(release_prepare, releases=[spec()], root=str(tmp_path / "opt"))
    assert (again["changed"], again["present"]) == (False, ["api/r1"])


def test_check_mode_says_which_releases_it_would_prepare(tmp_path, run_info):
    result = run_info(release_prepare, check_mode=True, releases=[spec()], root=str(tmp_path / "opt"))
    assert (result["changed"], result["prepared"]) == (True, ["api/r1"])
    assert not (tmp_path / "opt/api").exists()


def test_an_artifact_entry_that_leaves_its_release_is_refused(tmp_path, run_info):
    path = bundle(tmp_path, {"api-r1.tar.gz": artifact({"../../etc/cron.d/x": "* * * * * root id\n"})})
    result = run_info(release_prepare, releases=[spec()], root=str(tmp_path / "opt"), bundle=path)
    assert result["failed"] and "preparing release r1 failed" in result["msg"] and "'..'" in result["msg"]
    assert not (tmp_path / "etc").exists()


def test_a_failed_install_command_leaves_the_release_unfinished_and_says_why(tmp_path, run_info):
    path = bundle(tmp_path, {"api-r1.tar.gz": artifact({"api/main.py": "print(1)\n"})})
    result = run_info(release_prepare, releases=[spec(install_command="echo no network >&2; exit 3")],
                      root=str(tmp_path / "opt"), bundle=path)
    assert result["failed"] and "failed (rc=3)" in result["msg"] and "no network" in result["msg"]
    assert (tmp_path / "opt/api/releases/r1/.unfinished").exists()


def test_without_its_bundle_the_module_says_to_use_the_action(tmp_path, run_info):
    result = run_info(release_prepare, releases=[spec()], root=str(tmp_path / "opt"))
    assert result["failed"] and "through its action plugin" in result["msg"]


def test_a_configuration_file_that_is_not_the_services_is_refused(tmp_path, run_info):
    result = run_info(release_prepare, releases=[spec(units={"units/../../../etc/passwd": "x"})],
                      root=str(tmp_path / "opt"))
    assert result["failed"] and "is not a configuration file of api" in result["msg"]


def test_the_diff_shows_each_unit_that_would_change_and_never_the_env_file(tmp_path, run_info):
    etc, units = tmp_path / "etc", tmp_path / "units"
    etc.mkdir()
    units.mkdir()
    (etc / "api.env").write_text('SECRET="old-secret"\n')
    (units / "pakashop-api@.service").write_text("[Service]\nLimitNOFILE=1024\n")
    result = run_info(release_prepare, check_mode=True, _ansible_diff=True, releases=[spec()],
                      root=str(tmp_path / "opt"), config_dir=str(etc), unit_dir=str(units))
    shown = {d["before_header"].split(": ", 1)[1]: d for d in result["diff"]}
    assert shown[f"{units}/pakashop-api@.service"]["before"] == "[Service]\nLimitNOFILE=1024\n"
    assert shown[f"{units}/pakashop-api@.service"]["after"] == "[Service]\n"
    assert f"{etc}/api.env" in shown
    assert "hunter2" not in str(result) and "old-secret" not in str(result)
