"""The deploy lock in DynamoDB (moto in-process): one holder at a time, a lease
that a later run takes over when it ran out, and a keeper that releases the
lock once the run's process is gone."""

import subprocess
import threading
import time

import boto3
import pytest
from moto import mock_aws

from ansible_collections.pakashop.infra.plugins.plugin_utils._lock import (
    DynamoDBLock, LockError, keep, process_start)

STORE = {"table": "locks", "region": "eu-west-1", "access_key": "test", "secret_key": "test"}


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="test",
                              aws_secret_access_key="test")
        client.create_table(TableName="locks", BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}])
        yield client


def lock(dynamodb, name="staging"):
    return DynamoDBLock(STORE, name, dynamodb=dynamodb)


def test_one_run_holds_the_lock_and_a_second_is_refused(dynamodb):
    held, current, taken_over = lock(dynamodb).acquire("run-a", "deploy by a", 60, now=1000)
    assert held and current["run_id"] == "run-a" and taken_over is None
    held, current, taken_over = lock(dynamodb).acquire("run-b", "deploy by b", 60, now=1010)
    assert not held and current["holder"] == "deploy by a" and current["expires_at"] == 1060 and taken_over is None


def test_environments_have_locks_of_their_own(dynamodb):
    assert lock(dynamodb, "staging").acquire("run-a", "a", 60)[0]
    assert lock(dynamodb, "production").acquire("run-b", "b", 60)[0]


def test_a_lock_whose_lease_ran_out_is_taken_over_naming_the_dead_holder(dynamodb):
    lock(dynamodb).acquire("run-a", "deploy by a", 60, now=1000)
    held, current, taken_over = lock(dynamodb).acquire("run-b", "deploy by b", 60, now=1061)
    assert held and current["run_id"] == "run-b"
    assert taken_over["holder"] == "deploy by a" and taken_over["run_id"] == "run-a"
    assert lock(dynamodb).read()["run_id"] == "run-b"


def test_a_renewed_lease_keeps_the_lock(dynamodb):
    lock(dynamodb).acquire("run-a", "a", 60, now=1000)
    assert lock(dynamodb).renew("run-a", 60, now=1050)
    assert not lock(dynamodb).acquire("run-b", "b", 60, now=1061)[0]


def test_only_the_holder_releases_and_renews(dynamodb):
    lock(dynamodb).acquire("run-a", "a", 60)
    assert not lock(dynamodb).release("run-b")
    assert not lock(dynamodb).renew("run-b", 60)
    assert lock(dynamodb).read()["run_id"] == "run-a"
    assert lock(dynamodb).release("run-a")
    assert lock(dynamodb).read() is None


def test_break_deletes_whoever_holds_it(dynamodb):
    lock(dynamodb).acquire("run-a", "deploy by a", 60)
    assert lock(dynamodb).break_lock()["holder"] == "deploy by a"
    assert lock(dynamodb).break_lock() is None
    assert lock(dynamodb).acquire("run-b", "b", 60)[0]


def test_a_missing_table_is_one_sentence(dynamodb):
    with pytest.raises(LockError, match="the lock table nope does not exist in eu-west-1: create it"):
        DynamoDBLock({**STORE, "table": "nope"}, "staging", dynamodb=dynamodb).read()


def test_an_unreachable_store_is_one_sentence():
    store = {**STORE, "endpoint_url": "http://127.0.0.1:9"}
    with pytest.raises(LockError, match="cannot be reached .* check pakashop_lock_region"):
        DynamoDBLock(store, "staging").read()


def test_the_keeper_releases_the_lock_when_the_run_is_gone(dynamodb):
    run = subprocess.Popen(["sleep", "30"])
    lock(dynamodb).acquire("run-a", "a", 30)
    settings = {"name": "staging", "run_id": "run-a", "lease": 30, "pid": run.pid,
                "pid_start": process_start(run.pid), "poll": 0.05}
    keeper = threading.Thread(target=lambda: ended.append(keep(settings, lock=lock(dynamodb))))
    ended = []
    keeper.start()
    time.sleep(0.3)
    assert lock(dynamodb).read()["run_id"] == "run-a"  # held while the run lives
    run.kill()
    run.wait()
    keeper.join(5)
    assert ended == ["released"] and lock(dynamodb).read() is None


def test_the_keeper_renews_the_lease_and_stops_when_the_run_released(dynamodb):
    run = subprocess.Popen(["sleep", "30"])
    try:
        lock(dynamodb).acquire("run-a", "a", 3)
        first = lock(dynamodb).read()["expires_at"]
        settings = {"name": "staging", "run_id": "run-a", "lease": 3, "pid": run.pid,
                    "pid_start": process_start(run.pid), "poll": 0.05}
        ended = []
        keeper = threading.Thread(target=lambda: ended.append(keep(settings, lock=lock(dynamodb))))
        keeper.start()
        time.sleep(2.2)
        assert lock(dynamodb).read()["expires_at"] > first  # renewed after lease / 3
        lock(dynamodb).release("run-a")
        keeper.join(5)
        assert ended == ["gone"]
    finally:
        run.kill()


def test_a_later_process_with_the_same_pid_is_not_the_run():
    assert process_start(1) is not None
    assert process_start(2 ** 22 + 7) is None
