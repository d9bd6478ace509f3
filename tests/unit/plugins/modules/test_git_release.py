"""git_release against a real bare origin: each operation's paths and refusals,
checked on what origin's branches are afterwards."""

import os

import pytest

# options


@pytest.mark.parametrize("args, said", [
    ({}, "missing required arguments: operation"),
    ({"operation": "resolve"}, "value of operation must be one of: promote, hotfix_sync, revert"),
    ({"operation": "revert", "branch": "main"}, "operation is revert but all of the following are missing: commit"),
    ({"operation": "revert", "commit": "HEAD"}, "operation is revert but all of the following are missing: branch"),
])
def test_an_operation_without_what_it_needs_is_refused_before_any_fetch(origin, run, tmp_path, args, said):
    before = {b: origin.head(b) for b in ("main", "production")}
    result = run(**args)
    assert result["failed"]
    assert said in result["msg"]
    assert not (tmp_path / "cache").exists()
    assert {b: origin.head(b) for b in ("main", "production")} == before


def test_revert_refuses_a_branch_pattern(origin, run):
    result = run(operation="revert", branch="feature/*", commit=origin.head("main"))
    assert (result["failed"], result["reason"]) == (True, "branch_pattern")
    assert result["msg"] == "operation=revert needs one branch, not the pattern feature/*"


# promote


def test_promote_fast_forwards_production_to_main(origin, run):
    before = origin.head("production")
    ahead = origin.commit("main", {"api/main.py": "print('api 2')\n"}, "Faster api")
    result = run(operation="promote", diff=True)
    assert not result.get("failed"), result["msg"]
    assert origin.head("production") == ahead
    assert (result["changed"], result["pushed"], result["method"]) == (True, True, "push")
    assert (result["before"], result["commit"]) == (before, ahead)
    assert [c["subject"] for c in result["commits"]] == ["Faster api"]
    assert f"+ {ahead[:12]} Faster api" in result["diff"]["prepared"]


def test_promote_moves_production_to_the_commit_given(origin, run):
    verified = origin.commit("main", {"api/main.py": "2\n"}, "Verified on staging")
    origin.commit("main", {"api/main.py": "3\n"}, "Not verified yet")
    result = run(operation="promote", commit=verified)
    assert origin.head("production") == verified, result["msg"]


def test_promote_in_check_mode_pushes_nothing(origin, run):
    before = origin.head("production")
    origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    result = run(operation="promote", check_mode=True)
    assert (result["changed"], result["pushed"]) == (True, False)
    assert origin.head("production") == before
    assert "would move" in result["msg"]


def test_promote_when_production_has_it_already_changes_nothing(origin, run):
    result = run(operation="promote")
    assert (result["changed"], result["method"]) == (False, "none")
    assert "already contains" in result["msg"]


@pytest.mark.parametrize("main_moved_on", [True, False])
def test_promote_refuses_while_a_hotfix_is_not_synced(origin, run, main_moved_on):
    if main_moved_on:
        origin.commit("main", {"api/main.py": "2\n"}, "Feature")
    hotfix = origin.commit("production", {"gateway/main.py": "fix\n"}, "Hotfix")
    result = run(operation="promote")
    assert result["failed"]
    assert "production has 1 commit(s) that main lacks" in result["msg"]
    assert "run the hotfix sync (playbooks/hotfix_sync.yml) first" in result["msg"]
    assert origin.head("production") == hotfix


def test_promote_refuses_a_commit_that_is_not_on_main(origin, run):
    stray = origin.commit("feature/x", {"api/main.py": "x\n"}, "Unmerged", start="origin/main")
    result = run(operation="promote", commit=stray)
    assert result["failed"]
    assert f"{stray[:12]} is not on main" in result["msg"]


def test_a_push_the_remote_refuses_fails_and_says_to_run_again(origin, run):
    origin.commit("main", {"api/main.py": "2\n"}, "Feature")
    hook = os.path.join(origin.url, "hooks", "pre-receive")
    with open(hook, "w", encoding="utf-8") as script:
        script.write("#!/bin/sh\necho 'production is frozen' >&2\nexit 1\n")
    os.chmod(hook, 0o755)
    before = origin.head("production")
    result = run(operation="promote")
    assert result["failed"]
    assert "refused to move production" in result["msg"] and "run again" in result["msg"]
    assert origin.head("production") == before


# hotfix sync


def test_hotfix_sync_when_in_sync_changes_nothing(origin, run):
    origin.commit("main", {"api/main.py": "2\n"}, "Feature")
    result = run(operation="hotfix_sync")
    assert (result["changed"], result["method"], result["pushed"]) == (False, "none", False)


def test_hotfix_sync_fast_forwards_main_when_it_can(origin, run):
    hotfix = origin.commit("production", {"gateway/main.py": "fix\n"}, "Hotfix the gateway")
    result = run(operation="hotfix_sync")
    assert (result["method"], result["pushed"]) == ("fast-forward", True), result["msg"]
    assert origin.head("main") == hotfix
    assert [c["subject"] for c in result["commits"]] == ["Hotfix the gateway"]


def test_hotfix_sync_merges_when_main_moved_on(origin, run):
    feature = origin.commit("main", {"api/main.py": "2\n"}, "Feature")
    hotfix = origin.commit("production", {"gateway/main.py": "fix\n"}, "Hotfix the gateway")
    result = run(operation="hotfix_sync")
    assert (result["method"], result["pushed"]) == ("merge", True), result["msg"]
    merged = origin.head("main")
    assert origin.parents(merged) == [feature, hotfix]
    assert origin.show(merged, "gateway/main.py") == "fix"
    assert origin.show(merged, "api/main.py") == "2"
    assert origin.head("production") == hotfix
    assert [c["subject"] for c in result["commits"]] == ["Hotfix the gateway"]


def test_hotfix_sync_in_check_mode_pushes_nothing(origin, run):
    feature = origin.commit("main", {"api/main.py": "2\n"}, "Feature")
    origin.commit("production", {"gateway/main.py": "fix\n"}, "Hotfix")
    result = run(operation="hotfix_sync", check_mode=True)
    assert (result["changed"], result["method"], result["pushed"]) == (True, "merge", False)
    assert origin.head("main") == feature


def test_hotfix_sync_conflict_pushes_nothing_and_lists_the_files(origin, run, tmp_path):
    feature = origin.commit("main", {"api/main.py": "feature\n"}, "Feature")
    origin.commit("production", {"api/main.py": "hotfix\n", "gateway/main.py": "fix\n"}, "Hotfix")
    result = run(operation="hotfix_sync")
    assert result["failed"]
    assert result["conflicts"] == ["api/main.py"]
    assert "conflicts in api/main.py; nothing was pushed" in result["msg"]
    assert origin.head("main") == feature
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith("worktree-")] == []


# revert


def test_revert_undoes_a_commit_on_the_branch_and_pushes(origin, run):
    bad = origin.commit("production", {"api/main.py": "broken\n"}, "Break the api")
    result = run(operation="revert", branch="production", commit=bad, diff=True)
    assert (result["changed"], result["pushed"], result["method"]) == (True, True, "revert")
    reverted = origin.head("production")
    assert origin.parents(reverted) == [bad]
    assert origin.show(reverted, "api/main.py") == "print('api 1')"
    assert "-broken" in result["diff"]["prepared"]


def test_revert_a_second_time_changes_nothing(origin, run):
    bad = origin.commit("production", {"api/main.py": "broken\n"}, "Break the api")
    first = run(operation="revert", branch="production", commit=bad)
    again = run(operation="revert", branch="production", commit=bad)
    assert again["changed"] is False
    assert f"already reverted on production by {first['commit'][:12]}" in again["msg"]


def test_revert_of_a_merge_commit_needs_a_parent(origin, run):
    origin.commit("feature/x", {"api/main.py": "feature\n"}, "Feature", start="origin/main")
    merge = origin.merge("main", "feature/x", "Merge feature/x")
    refused = run(operation="revert", branch="main", commit=merge)
    assert refused["failed"]
    assert refused["msg"].startswith(f"{merge[:12]} is a merge commit: give parent=1")
    assert (refused["reason"], refused["parents"], refused["commit"]) == ("merge_needs_parent", 2, merge)
    result = run(operation="revert", branch="main", commit=merge, parent=1)
    assert not result.get("failed"), result["msg"]
    assert origin.show(origin.head("main"), "api/main.py") == "print('api 1')"


def test_revert_refuses_a_parent_for_an_ordinary_commit(origin, run):
    bad = origin.commit("main", {"api/main.py": "broken\n"}, "Break the api")
    result = run(operation="revert", branch="main", commit=bad, parent=1)
    assert result["failed"]
    assert "is not a merge commit: leave parent unset" in result["msg"]
    assert result["reason"] == "not_a_merge"


def test_revert_refuses_a_commit_that_is_not_on_the_branch(origin, run):
    on_main = origin.commit("main", {"api/main.py": "2\n"}, "Only on main")
    before = origin.head("production")
    result = run(operation="revert", branch="production", commit=on_main)
    assert result["failed"]
    assert f"{on_main[:12]} is not on production" in result["msg"]
    assert result["reason"] == "not_on_branch"
    assert origin.head("production") == before


def test_revert_conflict_pushes_nothing_and_lists_the_files(origin, run):
    bad = origin.commit("main", {"api/main.py": "broken\n"}, "Break the api")
    later = origin.commit("main", {"api/main.py": "broken, then more\n"}, "Build on it")
    result = run(operation="revert", branch="main", commit=bad)
    assert result["failed"]
    assert result["conflicts"] == ["api/main.py"]
    assert origin.head("main") == later


def test_revert_of_changes_already_undone_changes_nothing(origin, run):
    bad = origin.commit("main", {"api/main.py": "broken\n"}, "Break the api")
    undone = origin.commit("main", {"api/main.py": "print('api 1')\n"}, "Undo by hand")
    result = run(operation="revert", branch="main", commit=bad)
    assert result["changed"] is False, result["msg"]
    assert "its changes are already undone" in result["msg"]
    assert origin.head("main") == undone
