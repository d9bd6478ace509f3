"""pakashop.infra.release and release_info run by Ansible on this machine, in a
temporary root: each state, check mode that changes nothing, diffs, the options
each state requires, and what release_info reads without changing anything."""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[4]
MODULES = CHECKOUT / "plugins/modules"
MODES = {"--check": "_ansible_check_mode", "--diff": "_ansible_diff"}


def release(tmp_path, *flags, module="release", **args):
    """Run the module as Ansible does: its arguments as JSON (an argument given as None is left
    out), its result on stdout."""
    args = {"service": "api", "root": str(tmp_path / "opt"),
            "ledger_dir": str(tmp_path / "ledger"), **args,
            **{MODES[flag]: True for flag in flags}}
    args = {key: value for key, value in args.items() if value is not None}
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    result = subprocess.run(
        [sys.executable, MODULES / f"{module}.py", args_file], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(CHECKOUT / ".cache/collections")})
    return json.loads(result.stdout)


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "api.tgz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("api/main.py")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"x=1"))
    return str(path)


def prepare(tmp_path, src, release_id, commit, *flags):
    return release(tmp_path, *flags, state="prepared", release=release_id, src=src,
                   commit=commit, branch="main", environment="staging")


def test_check_mode_changes_nothing_and_says_what_would(tmp_path, src):
    result = prepare(tmp_path, src, "r1", "a" * 40, "--check")
    assert result["changed"] is True
    assert not (tmp_path / "opt/api/releases/r1").exists()
    activated = release(tmp_path, "--check", "--diff", state="activated", release="r1")
    assert activated["changed"] is True
    assert activated["diff"] == {"before": {"current": None}, "after": {"current": "r1"}}
    assert not (tmp_path / "opt/api/current").exists()
    assert not (tmp_path / "ledger/api.json").exists()


def test_deploy_then_roll_back_after_a_failed_gate(tmp_path, src):
    prepare(tmp_path, src, "r1", "a" * 40)
    release(tmp_path, state="activated", release="r1", actor="alice")
    release(tmp_path, state="confirmed", release="r1")
    assert prepare(tmp_path, src, "r1", "a" * 40)["changed"] is False  # already complete
    prepare(tmp_path, src, "r2", "b" * 40)
    assert release(tmp_path, state="activated", release="r2")["current"] == "r2"

    back = release(tmp_path, "--diff", state="rolled_back", release="r2", failed_gate="health")

    assert back["changed"] is True
    assert back["current"] == "r1"
    assert os.readlink(tmp_path / "opt/api/current") == "releases/r1"
    ledger = json.loads((tmp_path / "ledger/api.json").read_text())["entries"]
    failed = [e for e in ledger if e["release"] == "r2"][-1]
    assert (failed["outcome"], failed["failed_gate"], failed["commit"]) == ("failed", "health", "b" * 40)
    assert ledger[0]["actor"] == "alice"
    # a second rollback of r2 changes nothing: it was already left
    assert release(tmp_path, state="rolled_back", release="r2")["changed"] is False


def test_activating_an_unprepared_release_is_refused(tmp_path):
    result = release(tmp_path, state="activated", release="nope")
    assert result["failed"] is True
    assert "release nope is not prepared" in result["msg"]


def test_rollback_with_nothing_to_go_back_to_says_so(tmp_path, src):
    prepare(tmp_path, src, "r1", "a" * 40)
    release(tmp_path, state="activated", release="r1")
    result = release(tmp_path, state="rolled_back")
    assert result["failed"] is True
    assert "no earlier good release" in result["msg"]


def test_prune_keeps_current_and_previous_good(tmp_path, src):
    for i in range(1, 5):
        prepare(tmp_path, src, f"r{i}", str(i) * 40)
        release(tmp_path, state="activated", release=f"r{i}")
        release(tmp_path, state="confirmed", release=f"r{i}")
    check = release(tmp_path, "--check", state="pruned", keep=2)
    assert check["removed"] == ["r1", "r2"]
    assert (tmp_path / "opt/api/releases/r1").exists()
    pruned = release(tmp_path, state="pruned", keep=2)
    assert sorted(os.listdir(tmp_path / "opt/api/releases")) == ["r3", "r4"]
    assert pruned["previous_good"] == "r3"


def test_a_call_without_a_state_is_refused_not_taken_for_a_query(tmp_path):
    result = release(tmp_path)
    assert result["failed"] and "state" in result["msg"]


@pytest.mark.parametrize("args, missing", [
    ({"state": "prepared", "release": "r1", "commit": "a" * 40}, "src"),
    ({"state": "prepared", "release": "r1", "src": "/x.tgz"}, "commit"),
    ({"state": "activated"}, "release"),
    ({"state": "confirmed"}, "release"),
])
def test_a_state_without_the_options_it_needs_is_refused_before_any_change(tmp_path, args, missing):
    result = release(tmp_path, **args)
    assert result["failed"]
    assert result["msg"] == f"state is {args['state']} but all of the following are missing: {missing}"
    assert not (tmp_path / "opt").exists() and not (tmp_path / "ledger").exists()


def test_query_is_not_a_state_any_more(tmp_path):
    result = release(tmp_path, state="query")
    assert result["failed"] and "value of state must be one of" in result["msg"]


# release_info


@pytest.mark.parametrize("flags", [(), ("--check",)])
def test_release_info_reports_the_releases_and_changes_nothing(tmp_path, src, flags):
    for i in (1, 2):
        prepare(tmp_path, src, f"r{i}", str(i) * 40)
        release(tmp_path, state="activated", release=f"r{i}")
        release(tmp_path, state="confirmed", release=f"r{i}")
    prepare(tmp_path, src, "r3", "3" * 40)
    ledger = (tmp_path / "ledger/api.json").read_bytes()
    info = release(tmp_path, *flags, module="release_info")
    assert (info["changed"], info["current"], info["previous_good"]) == (False, "r2", "r1")
    assert [(r["id"], r["commit"], r["outcome"], r["current"]) for r in info["releases"]] == [
        ("r1", "1" * 40, "active", False), ("r2", "2" * 40, "active", True), ("r3", "3" * 40, None, False)]
    assert [e["release"] for e in info["ledger"]] == ["r1", "r1", "r2", "r2"]
    assert (tmp_path / "ledger/api.json").read_bytes() == ledger
    assert os.readlink(tmp_path / "opt/api/current") == "releases/r2"


def test_release_info_reads_several_services_in_one_call(tmp_path, src):
    for i in (1, 2):
        prepare(tmp_path, src, f"r{i}", str(i) * 40)
        release(tmp_path, state="activated", release=f"r{i}")
        release(tmp_path, state="confirmed", release=f"r{i}")
    info = release(tmp_path, module="release_info", service=None, services=["api", "web"])
    assert [s["service"] for s in info["services"]] == ["api", "web"]
    api, web = info["services"]
    assert (api["current"], api["previous_good"], api["rollback_target"]) == ("r2", "r1", "r1")
    assert (web["current"], web["releases"], web["rollback_target"]) == (None, [], None)


def test_release_info_names_the_current_release_as_a_rollback_target_when_the_last_deploy_left_it(tmp_path, src):
    for i in (1, 2):
        prepare(tmp_path, src, f"r{i}", str(i) * 40)
        release(tmp_path, state="activated", release=f"r{i}")
        release(tmp_path, state="confirmed", release=f"r{i}")
    ledger = json.loads((tmp_path / "ledger/api.json").read_text())
    ledger["entries"].append({**ledger["entries"][-1], "action": "serve", "serves": "9" * 40})
    (tmp_path / "ledger/api.json").write_text(json.dumps(ledger))
    info = release(tmp_path, module="release_info")
    assert (info["previous_good"], info["rollback_target"], info["serves"]) == ("r1", "r2", "9" * 40)


def test_release_info_takes_one_service_or_several_not_both(tmp_path):
    result = release(tmp_path, module="release_info", services=["api"])
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_release_info_rebuilds_a_missing_ledger_in_its_answer_only(tmp_path, src):
    prepare(tmp_path, src, "r1", "1" * 40)
    release(tmp_path, state="activated", release="r1")
    (tmp_path / "ledger/api.json").unlink()
    info = release(tmp_path, module="release_info")
    assert info["current"] == "r1" and [e["release"] for e in info["ledger"]] == ["r1"]
    assert "is missing; rebuilt from" in json.dumps(info["warnings"])
    assert not (tmp_path / "ledger/api.json").exists()


def test_release_info_takes_no_state(tmp_path):
    result = release(tmp_path, module="release_info", state="prepared")
    assert result["failed"] and "Unsupported parameters" in result["msg"]
