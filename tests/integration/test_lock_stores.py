"""The deploy lock's two stores with three staging hosts, one of them stopped:
a deploy of the others locks, two runs at once still exclude each other, and
the hosts store with two of three hosts down takes no lock (issue 12).

Three staging hosts for this module only: it grows the session's lab by stg-3
and shrinks it back at the end (one host boot), rather than every staging
deploy of the suite paying for a third host, or a second lab booting."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import BIN, CHECKOUT, Lab, _lab

STORES = {"dynamodb": [], "hosts": ["-e", json.dumps({"pakashop_lock_store": {"type": "hosts"}})]}
RECORD = "/var/lib/pakashop/locks/staging.json"
SKIP_STG_1 = ["-l", "staging:!stg-1"]


@pytest.fixture(scope="module")
def three(staging):
    os.environ["LAB_STAGING_HOSTS"] = "3"
    try:
        _lab("up")
        _lab("stop", "stg-1")
        yield Lab()
    finally:
        _lab("start", "stg-1")  # later tests see the lab whole
        del os.environ["LAB_STAGING_HOSTS"]
        _lab("up")  # back to the session's two staging hosts


def records(lab, names=("stg-2", "stg-3"), live=False):
    """The lock records on the running staging hosts: {host: run id}; with
    `live`, only those whose lease has not run out."""
    found = {}
    for name in names:
        text = lab.host(name).run(f"cat {RECORD}")
        if text.rc == 0:
            record = json.loads(text.stdout)
            if not live or record["expires_at"] > time.time():
                found[name] = record["run_id"]
    return found


def locked(lab, store):
    return lab.lock("staging") is not None if store == "dynamodb" else len(records(lab)) == 2


@pytest.mark.parametrize("store", STORES)
def test_with_stg_1_stopped_a_deploy_of_the_other_hosts_locks_and_deploys(three, store):
    run = three.playbook("deploy.yml", *SKIP_STG_1, *STORES[store], "-v")
    assert run.rc == 0, run.output[-3000:]
    assert "staging locked for this run" in run.said
    assert set(run.recap) >= {"stg-2", "stg-3"} and "stg-1" not in run.recap
    assert three.health("stg-3", three.port("gateway"))  # the new host serves (stg-1 is down: not asked)
    assert three.lock("staging") is None and records(three) == {}


@pytest.mark.parametrize("store", STORES)
def test_with_stg_1_stopped_two_deploys_at_once_still_exclude_each_other(three, store):
    args = [*SKIP_STG_1, *STORES[store]]
    runs = []
    first = threading.Thread(target=lambda: runs.append(three.playbook("deploy.yml", *args)))
    first.start()
    deadline = time.monotonic() + 300
    while not locked(three, store) and first.is_alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    second = three.playbook("deploy.yml", *args, "-v", "-e", "deploy_lock_retry_delay=1")
    first.join()
    assert runs[0].rc == 0, runs[0].output[-3000:]
    assert second.rc == 0, second.output[-3000:]
    assert "after waiting" in second.said and "for deploy of staging at" in second.said
    assert three.lock("staging") is None and records(three) == {}


def test_the_hosts_store_with_two_of_three_hosts_down_takes_no_lock(three):
    _lab("stop", "stg-2")
    try:
        run = three.playbook("deploy.yml", "-l", "staging:!stg-1:!stg-2", *STORES["hosts"],
                             "-e", "deploy_lock_timeout=2", "-e", "deploy_lock_retry_delay=1")
    finally:
        _lab("start", "stg-2")
    assert run.rc != 0
    assert ("staging cannot be locked: the lock needs 2 of the 3 hosts of staging and only 1 answered "
            "(stg-1: ") in run.said
    assert run.changed == 0 and records(three, ("stg-3",)) == {}


def test_a_deploy_killed_with_sigkill_leaves_no_lock_past_its_lease(three):
    """Killed as soon as its records are on the hosts, which may be before its
    keeper runs: the keeper gives them back, or else their lease runs out
    (60 s); either way the next deploy locks and deploys."""
    command = [BIN / "ansible-playbook", "playbooks/deploy.yml", *SKIP_STG_1, *STORES["hosts"]]
    proc = subprocess.Popen(command, cwd=CHECKOUT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not locked(three, "hosts") and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert locked(three, "hosts"), "the deploy never took the lock"
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, as a lost controller
        proc.wait(60)
        deadline = time.monotonic() + 90  # the lease, and a margin for a loaded machine
        while records(three, live=True) and time.monotonic() < deadline:
            time.sleep(1)
        assert records(three, live=True) == {}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    run = three.playbook("deploy.yml", *SKIP_STG_1, *STORES["hosts"], "-e", "deploy_lock_timeout=30")
    assert run.rc == 0, run.output[-3000:]
    assert records(three) == {}
