"""A deploy sent whole to another worker: `ansible-runner transmit` of the
private data dir that ci/runner_bundle.py writes, piped to `ansible-runner
worker` and `ansible-runner process`, as receptor or AWX's execution nodes
run it. The worker has only what the stream carried (and the lab's variables
in its environment): no checkout, no cache of its own."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN, CHECKOUT, PLAYBOOK_TIMEOUT


def transmit(bundle, out, *args, cwd, env):
    pipeline = (f"'{BIN}/ansible-runner' transmit '{bundle}' {' '.join(args)}"
                f" | '{BIN}/ansible-runner' worker | '{BIN}/ansible-runner' process '{out}'")
    try:
        return subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], cwd=cwd, env=env, capture_output=True,
                              text=True, check=False, timeout=PLAYBOOK_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"ansible-runner transmit | worker | process {' '.join(args)} ran past {PLAYBOOK_TIMEOUT} s")


@pytest.fixture(scope="module")
def sent(staging, tmp_path_factory):
    """A new commit of main deployed to staging through the transmitted bundle."""
    work = tmp_path_factory.mktemp("transmit")
    subprocess.run([sys.executable, CHECKOUT / "ci/runner_bundle.py", work / "runner"], check=True,
                   capture_output=True)
    commit = staging.commit("main", {"api/transmitted.txt": "sent whole\n"}, "api: a commit deployed by a worker")
    others = {service: staging.pids(service) for service in ("gateway", "notifications", "moderation")}
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "XDG_CACHE_HOME": str(work / "cache")}
    result = transmit(work / "runner", work / "processed", "-p", "playbooks/deploy.yml", "--limit", "staging",
                      cwd=work, env=env)
    return commit, result, work / "processed/artifacts", others


def test_the_transmitted_deploy_succeeds(sent):
    result, artifacts = sent[1:3]
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert (artifacts / "status").read_text() == "successful"
    assert list((artifacts / "job_events").glob("*.json"))


def test_every_staging_service_serves_the_commit_the_worker_deployed(staging, sent):
    commit, others = sent[0], sent[3]
    serving = staging.serving("api")
    assert serving and all(v == [commit] * len(v) for v in serving.values()), serving
    # the commit changes only api/: the others serve it from the release they had, not restarted
    for service, pids in others.items():
        assert staging.pids(service) == pids, service
        assert set(staging.serves(service).values()) == {commit}, (service, staging.serves(service))


def test_the_worker_built_from_what_it_was_sent_not_from_the_checkout(sent):
    # its git cache is the one of its own environment (XDG_CACHE_HOME), not the checkout's
    cache = Path(sent[2]).parents[1] / "cache" / "pakashop"
    assert cache.is_dir() and any(cache.rglob("HEAD")), list(cache.parent.rglob("*"))[:20]
