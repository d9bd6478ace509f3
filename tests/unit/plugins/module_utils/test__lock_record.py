"""One host's lock record: compare-and-set under flock, replaced atomically."""

import json
import threading

from ansible_collections.pakashop.infra.plugins.module_utils._lock_record import decide, update


def test_a_free_host_grants_the_lock_and_keeps_the_record(tmp_path):
    done = update(tmp_path / "locks", "staging", "acquired", "run-a", "deploy by a", 60, now=1000)
    assert done["granted"] and done["before"] is None and done["changed"]
    record = json.loads((tmp_path / "locks/staging.json").read_text())
    assert record == {"run_id": "run-a", "holder": "deploy by a", "acquired_at": 1000, "expires_at": 1060}
    assert (tmp_path / "locks").stat().st_mode & 0o777 == 0o700
    assert not list((tmp_path / "locks").glob(".lock-*"))  # no temporary left


def test_a_live_record_of_another_run_refuses_and_stays():
    record = {"run_id": "run-a", "holder": "a", "acquired_at": 1000, "expires_at": 1060}
    assert decide(record, "acquired", "run-b", "b", 60, now=1059) == (False, record)
    granted, after = decide(record, "acquired", "run-b", "b", 60, now=1060)  # ran out: taken over
    assert granted and after["run_id"] == "run-b" and after["expires_at"] == 1120


def test_the_holder_renews_and_releases_and_nobody_else_does():
    record = {"run_id": "run-a", "holder": "a", "acquired_at": 1000, "expires_at": 1060}
    assert decide(record, "renewed", "run-a", lease=60, now=1050) == (True, {**record, "expires_at": 1110})
    assert decide(record, "acquired", "run-a", "a", 60, now=1050) == (True, {**record, "expires_at": 1110})
    assert decide(record, "renewed", "run-b", lease=60, now=1050) == (False, record)
    assert decide(record, "released", "run-b") == (False, record)
    assert decide(record, "released", "run-a") == (True, None)
    assert decide(record, "broken") == (True, None)
    assert decide(None, "broken") == (False, None)
    assert decide(None, "renewed", "run-a", lease=60, now=1) == (False, None)


def test_of_many_runs_at_once_one_is_granted(tmp_path):
    granted = []

    def take(run):
        if update(tmp_path, "staging", "acquired", run, run, 60, now=1000)["granted"]:
            granted.append(run)
    runs = [threading.Thread(target=take, args=(f"run-{i}",)) for i in range(16)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert len(granted) == 1
    assert json.loads((tmp_path / "staging.json").read_text())["run_id"] == granted[0]


def test_check_mode_writes_nothing(tmp_path):
    done = update(tmp_path, "staging", "acquired", "run-a", "a", 60, now=1000, write=False)
    assert done["granted"] and done["changed"] and not (tmp_path / "staging.json").exists()


def test_release_removes_the_file(tmp_path):
    update(tmp_path, "staging", "acquired", "run-a", "a", 60, now=1000)
    assert update(tmp_path, "staging", "released", "run-a")["granted"]
    assert not (tmp_path / "staging.json").exists()
