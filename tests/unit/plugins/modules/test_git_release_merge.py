"""Promotion by a pull request that git_release also merges (github_merge),
against the lab's GitHub stand-in, which merges for real in the bare origin
and refuses while a required check is not green, as GitHub does."""

import json
import time

from conftest import BUILD_SECONDS, GITHUB_TOKEN


def promote(run, frontend, **args):
    return run(operation="promote", github_repository="pakashop/backend", github_token=GITHUB_TOKEN,
               github_api_url=frontend.url, **args)


def test_a_green_pull_request_is_opened_and_merged(origin, run, frontend):
    before = origin.head("production")
    commit = origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    time.sleep(BUILD_SECONDS)  # its check run is green
    result = promote(run, frontend, github_merge=True)
    assert not result.get("failed"), result["msg"]
    merged = origin.head("production")
    assert origin.parents(merged) == [before, commit]
    assert (result["commit"], result["pushed"], result["changed"]) == (merged, True, True)
    assert result["pull_request"]["merged"] is True and result["pull_request"]["created"] is True
    assert result["msg"].endswith(f"merged it: production moved from {before[:12]} to {merged[:12]}, "
                                  f"a merge commit of {commit[:12]}")
    assert GITHUB_TOKEN not in json.dumps(result)


def test_github_refuses_the_merge_while_the_required_check_fails(origin, run, frontend):
    before = origin.head("production")
    origin.commit("main", {"api/main.py": "2\n"}, "Flaky [ci-fail]")
    time.sleep(BUILD_SECONDS)
    result = promote(run, frontend, github_merge=True)
    assert result["failed"]
    assert result["msg"] == ('GitHub did not merge pull request #1 (405 Required status check "ci" is '
                             'failing); look at the pull request, then promote again')
    assert origin.head("production") == before


def test_without_github_merge_the_pull_request_stays_open(origin, run, frontend):
    before = origin.head("production")
    origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    result = promote(run, frontend)
    assert result["pull_request"]["created"] is True and not result["pull_request"].get("merged")
    assert origin.head("production") == before
    again = promote(run, frontend, github_merge=True, check_mode=True)
    assert again["msg"].startswith("pull request #1 from main to production is already open")
    assert again["msg"].endswith("would merge it, moving production to a merge commit of "
                                 f"{origin.head('main')[:12]}")
    assert origin.head("production") == before
