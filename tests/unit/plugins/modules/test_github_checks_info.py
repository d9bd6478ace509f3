"""github_checks_info against the lab's GitHub stand-in, driven by real pushes
to a bare origin: the verdict on a commit's checks, the required checks of a
protected branch, waiting, and the token kept secret."""

import json

import pytest

from ansible_collections.pakashop.infra.plugins.modules import github_checks_info
from conftest import GITHUB_TOKEN


@pytest.fixture
def checks(run_info, frontend):
    def read(token=GITHUB_TOKEN, **args):
        if token:
            args["github_token"] = token
        args.setdefault("github_api_url", frontend.url)
        args.setdefault("repository", "pakashop/backend")
        return run_info(github_checks_info, **args)
    return read


def test_a_new_commit_is_pending_then_green(origin, checks):
    commit = origin.commit("main", {"web/index.html": "v2\n"}, "Faster checkout")
    first = checks(ref=commit, required_for="production")
    assert first["state"] == "pending" and first["green"] is False
    assert first["msg"].startswith(f"the GitHub checks of {commit[:7]} on pakashop/backend are not done (ci ")
    done = checks(ref=commit, required_for="production", wait=10, wait_interval=0.1)
    assert (done["state"], done["green"], done["required"], done["sha"]) == ("success", True, ["ci"], commit)
    assert done["msg"] == (f"the GitHub checks of {commit[:7]} on pakashop/backend are green "
                           f"(required by branch protection: ci)")


def test_a_ci_fail_commit_fails_its_check(origin, checks):
    commit = origin.commit("main", {"web/index.html": "v2\n"}, "Flaky [ci-fail]")
    result = checks(ref=commit, required_for="production", wait=10, wait_interval=0.1)
    assert (result["state"], result["failing"]) == ("failure", ["ci"])
    assert result["msg"] == f"the GitHub checks of {commit[:7]} on pakashop/backend failed (ci failure)"


def test_without_readable_protection_every_check_counts(origin, frontend, checks):
    frontend.protect("production", None)
    commit = origin.commit("main", {"web/index.html": "v2\n"}, "Faster checkout")
    result = checks(ref=commit, required_for="production", wait=10, wait_interval=0.1)
    assert result["required"] is None and result["counted"] == ["ci"]
    assert result["msg"].endswith("are green (every check: ci)")


def test_a_required_check_that_never_reports_keeps_it_pending(origin, frontend, checks):
    frontend.protect("production", ["ci", "security/scan"])
    commit = origin.commit("main", {"web/index.html": "v2\n"}, "Faster checkout")
    result = checks(ref=commit, required_for="production", wait=1, wait_interval=0.1)
    assert (result["state"], result["pending"]) == ("pending", ["security/scan"])
    assert result["msg"].endswith("are not done (security/scan not reported)")


def test_a_branch_name_is_read_as_its_head(origin, checks):
    commit = origin.commit("main", {"web/index.html": "v2\n"}, "Faster checkout")
    assert checks(ref="main", wait=10, wait_interval=0.1)["sha"] == commit


def test_a_refused_token_is_one_sentence_and_never_printed(checks):
    result = checks(token="wrong-token", ref="main")
    assert result["failed"]
    assert result["msg"] == "GitHub did not accept the token (401 Bad credentials); give a valid github_token"
    assert "wrong-token" not in json.dumps(result)


def test_another_repository_is_named(checks):
    result = checks(ref="main", repository="pakashop/nope")
    assert result["failed"]
    assert result["msg"] == ("GitHub answered 404 (Not Found) for pakashop/nope: check the name and that "
                             "the token may read checks and statuses there")


def test_check_mode_reads_as_well(origin, checks):
    origin.commit("main", {"web/index.html": "v2\n"}, "Faster checkout")
    result = checks(ref="main", check_mode=True, wait=10, wait_interval=0.1)
    assert result["state"] == "success" and result["changed"] is False
