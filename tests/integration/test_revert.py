"""revert.yml, on the lab against its real bare origin, and the
deploy lock a fast rollback holds (issue 5).

Leaves staging healthy on the head of main, and main containing production,
for the next test file.
"""

import subprocess

import pytest

from conftest import CHECKOUT

GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()


def origin_git(lab, *args):
    return subprocess.run(["git", "-C", lab.origin, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def api_code_has(lab, text):
    """{staging host: whether the api's running release contains text}."""
    return {name: lab.host(name).run(f"grep -rqF -- '{text}' /opt/pakashop/api/current/").rc == 0
            for name in lab.serving("api")}


def releases(lab):
    return {name: lab.host(name).run("readlink -e /opt/pakashop/*/current").stdout
            for name in lab.names("staging")}


def assert_staging_serves(lab, commit):
    """Every service serves the commit (its ledger says so), each instance answering the commit
    its release was built from: the last one that changed its folders."""
    for service in ("gateway", "api", "notifications", "moderation"):
        assert set(lab.serves(service).values()) == {commit}, service
        built_from = lab.built_from(service, commit)
        assert all(v == [built_from] * len(v) for v in lab.serving(service).values()), service


@pytest.fixture(scope="module")
def deployed(staging):
    """Staging on the head of main; the api's code has a marker only this module adds."""
    assert all(not found for found in api_code_has(staging, "revert-marker").values())
    return staging


def test_revert_refuses_a_commit_that_is_not_on_the_branch(deployed):
    lab = deployed
    origin_git(lab, "branch", "feature/stray", "main")
    stray = lab.commit("feature/stray", {"api/main.py": GOOD_API + "# revert-marker stray\n"}, "Stray")
    main, before = lab.head("main"), releases(lab)
    run = lab.playbook("revert.yml", "-l", "staging", "-e", f"revert={stray}")
    assert run.rc != 0
    assert f"{stray[:12]} is not on main; only a commit on main can be reverted there" in run.said
    assert lab.head("main") == main
    assert run.changed == 0
    assert releases(lab) == before


def test_revert_of_a_commit_pushes_the_revert_and_deploys_it(deployed):
    lab = deployed
    bad = lab.commit("main", {"api/main.py": GOOD_API + "# revert-marker bad\n"}, "api: bad change")
    run = lab.playbook("revert.yml", "-l", "staging", "-e", f"revert={bad}")
    assert run.rc == 0, run.output[-3000:]
    head = lab.head("main")
    assert origin_git(lab, "rev-list", "--parents", "-n", "1", head).split()[1:] == [bad]
    assert f"{bad[:12]} is reverted on main by {head[:12]}" in run.said
    assert_staging_serves(lab, head)
    assert not any(api_code_has(lab, "revert-marker").values())
    assert "Every checked service is healthy." in run.said


def test_revert_of_a_merge_commit_needs_the_parent_then_undoes_the_merge(deployed):
    lab = deployed
    lab.git("fetch", "-q", "origin")
    lab.git("checkout", "-q", "-B", "feature/merged", "origin/main")
    (lab._work / "api/main.py").write_text(GOOD_API + "# revert-marker merged\n")
    lab.git("commit", "-q", "-am", "api: merged change")
    lab.git("checkout", "-q", "-B", "main", "origin/main")
    lab.git("merge", "-q", "--no-ff", "-m", "Merge feature/merged", "feature/merged")
    lab.git("push", "-q", "origin", "main")
    merge = lab.head("main")

    refused = lab.playbook("revert.yml", "-l", "staging", "-e", f"revert={merge}")
    assert refused.rc != 0
    assert (f"{merge[:12]} is a merge commit: give -e revert_parent=1 to undo what it brought "
            f"into main") in refused.output
    assert lab.head("main") == merge and refused.changed == 0

    run = lab.playbook("revert.yml", "-l", "staging", "-e", f"revert={merge}", "-e", "revert_parent=1")
    assert run.rc == 0, run.output[-3000:]
    head = lab.head("main")
    assert origin_git(lab, "rev-list", "--parents", "-n", "1", head).split()[1:] == [merge]
    assert_staging_serves(lab, head)
    assert not any(api_code_has(lab, "revert-marker").values())


def test_a_fast_rollback_holds_the_deploy_lock(deployed):
    """A second rollback of staging while one runs gives up after its bounded
    wait, naming the first; the first finishes and releases the lock."""
    lab = deployed
    head = lab.head("main")
    # The first goes one host at a time (about 10 s) so that it outlasts the
    # second's start and 3 s wait; every host at once it can end first.
    first, second = lab.while_locked("rollback.yml", ["-l", "staging", "-e", "rollback_serial=1"],
                                     ["-l", "staging", "-e", "deploy_lock_timeout=3",
                                      "-e", "deploy_lock_retry_delay=1"])
    try:
        assert second.rc != 0
        assert "staging is locked by another run, rollback of staging by" in second.said
        assert second.changed == 0
        assert first.rc == 0, first.output[-3000:]
        assert lab.lock("staging") is None
        # every instance answers, and none of them on the head any more
        versions = [version for v in lab.serving("api").values() for version in v]
        assert versions and None not in versions and head not in versions, versions
    finally:
        run = lab.playbook("deploy.yml", "-l", "staging")
        assert run.rc == 0, run.output[-3000:]
    assert_staging_serves(lab, head)
