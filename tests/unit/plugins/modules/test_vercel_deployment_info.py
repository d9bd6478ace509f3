"""vercel_deployment_info against the lab's Vercel stand-in, driven by real
pushes to a bare origin: what it reads, how it waits, and that the token
stays secret."""

import json
import time
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from ansible_collections.pakashop.infra.plugins.modules import vercel_deployment_info
from conftest import BUILD_SECONDS, PROJECT, VERCEL_TOKEN


@pytest.fixture
def info(run_info, frontend):
    def read(token=VERCEL_TOKEN, **args):
        if token:
            args["vercel_token"] = token
        args.setdefault("vercel_api_url", frontend.url)
        return run_info(vercel_deployment_info, **args)
    return read


def test_a_push_to_main_starts_a_staging_deployment_that_becomes_ready(origin, info):
    commit = origin.commit("main", {"web/index.html": "v2\n"}, "Faster checkout")
    first = info(project_id=PROJECT, target="staging", sha=commit)
    assert first["state"] in ("QUEUED", "BUILDING"), first
    assert first["msg"].startswith(f"the Vercel deployment of {commit[:7]} for staging is {first['state']} (dpl_")
    assert first["ready"] is False and first["changed"] is False
    time.sleep(BUILD_SECONDS + 0.1)
    done = info(project_id=PROJECT, target="staging", sha=commit)
    assert done["state"] == "READY" and done["ready"] is True
    found = done["deployment"]
    assert (found["commit"], found["branch"], found["target"]) == (commit, "main", "staging")
    assert found["url"].startswith("https://") and found["id"].startswith("dpl_")
    assert done["msg"] == f"the Vercel deployment of {commit[:7]} for staging is READY at {found['url']}"


def test_it_waits_for_the_deployment_to_end(origin, info):
    commit = origin.commit("main", {"web/index.html": "v2\n"}, "Faster checkout")
    result = info(project_id=PROJECT, target="staging", sha=commit, wait=10, wait_interval=0.1)
    assert result["state"] == "READY", result
    assert result["waited"] < 5


def test_a_frontend_fail_commit_ends_in_error(origin, info):
    commit = origin.commit("main", {"web/index.html": "broken\n"}, "Break the build [frontend-fail]")
    result = info(project_id=PROJECT, target="staging", sha=commit, wait=10, wait_interval=0.1)
    assert result["state"] == "ERROR" and result["ready"] is False
    assert result["msg"].startswith(f"the Vercel deployment of {commit[:7]} for staging is ERROR (dpl_")


def test_filters_keep_to_the_target_and_commit(origin, info):
    staged = origin.commit("main", {"web/index.html": "v2\n"}, "Staged")
    origin.commit("production", {"web/hotfix.html": "fix\n"}, "Hotfix")
    origin.commit("feature/x", {"web/x.html": "x\n"}, "Feature", start="origin/main")
    assert [d["target"] for d in info(project_id=PROJECT)["deployments"]] == ["preview", "production", "staging"]
    assert [d["commit"] for d in info(project_id=PROJECT, target="production")["deployments"]] == \
        [origin.head("production")]
    assert info(project_id=PROJECT, target="production", sha=staged)["state"] == "MISSING"
    assert info(project_id=PROJECT, branch="feature/x")["deployment"]["target"] == "preview"


def test_nothing_found_is_missing_and_says_so(origin, info):
    result = info(project_id=PROJECT, target="staging", sha="0" * 40)
    assert (result["state"], result["deployment"]) == ("MISSING", None)
    assert result["msg"] == "there is no Vercel deployment of 0000000 for staging yet"


def test_one_deployment_by_id(origin, info):
    origin.commit("main", {"web/index.html": "v2\n"}, "Staged")
    listed = info(project_id=PROJECT)["deployment"]
    result = info(deployment_id=listed["id"])
    assert result["deployment"]["id"] == listed["id"] and result["deployment"]["url"] == listed["url"]


def test_a_refused_token_is_one_sentence_and_never_printed(info):
    result = info(token="wrong-token", project_id=PROJECT)
    assert result["failed"]
    assert result["msg"] == ("Vercel did not accept the token (403 Not authorized); give a valid "
                             "vercel_token that may read the project's deployments")
    assert "wrong-token" not in json.dumps(result)


def test_the_stand_in_refuses_a_request_without_a_token(frontend):
    with pytest.raises(HTTPError) as refused:
        urlopen(f"{frontend.url}/v6/deployments?projectId={PROJECT}")
    assert refused.value.code == 401


def test_the_token_comes_from_the_environment_and_stays_out_of_the_result(origin, info, monkeypatch):
    monkeypatch.setenv("VERCEL_TOKEN", VERCEL_TOKEN)
    origin.commit("main", {"web/index.html": "v2\n"}, "Staged")
    result = info(token=None, project_id=PROJECT)
    assert not result.get("failed"), result["msg"]
    assert VERCEL_TOKEN not in json.dumps(result)


def test_an_unknown_project_is_named(info):
    result = info(project_id="prj_nope")
    assert result["failed"] and result["msg"].startswith("Vercel answered 404 (Project not found)")


def test_an_unreachable_api_is_one_sentence_after_its_retries(info):
    started = time.monotonic()
    result = info(project_id=PROJECT, vercel_api_url="http://127.0.0.1:9", retries=1)
    assert result["failed"]
    assert result["msg"].startswith("cannot reach Vercel's API at http://127.0.0.1:9 (")
    assert result["msg"].endswith("check vercel_api_url and the network")
    assert time.monotonic() - started >= 0.5  # one retry after half a second


def test_check_mode_reads_as_well(origin, info):
    origin.commit("main", {"web/index.html": "v2\n"}, "Staged")
    result = info(project_id=PROJECT, check_mode=True)
    assert result["deployment"] and result["changed"] is False
