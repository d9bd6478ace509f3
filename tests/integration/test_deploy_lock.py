"""No way a run ends leaves its environment locked: a failed task, an
exception in a template, a validation after the lock, Ctrl-C, SIGTERM and
SIGKILL of ansible-playbook each release it; a dead controller's lock runs
out with its lease and is taken over with a warning (issue 11)."""

import os
import signal
import subprocess
import time

import pytest

from conftest import BIN, CHECKOUT


def keepers():
    """The lock keepers of this checkout's runs (other checkouts' labs may run beside)."""
    out = subprocess.run(["pgrep", "-f", "plugin_utils/_lock.py"], capture_output=True, text=True, check=False).stdout
    return [pid for pid in out.split() if os.path.realpath(f"/proc/{pid}/cwd") == str(CHECKOUT)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_a_deploy_stopped_by_a_signal_leaves_staging_unlocked(staging, sig):
    proc = subprocess.Popen([BIN / "ansible-playbook", "playbooks/deploy.yml", "-l", "staging"], cwd=CHECKOUT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert staging.wait_for_lock("staging", present=True, seconds=120), "the deploy never took the lock"
        assert len(keepers()) == 1
        time.sleep(2)  # into the deploy play
        # Ctrl-C reaches the terminal's whole process group; a kill, the one process.
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        proc.wait(60)
        assert staging.wait_for_lock("staging", present=False, seconds=5), staging.lock("staging")
        time.sleep(1)
        assert keepers() == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_validation_that_fails_after_the_lock_releases_it(staging):
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", '{"service_hardening": "not a mapping"}')
    assert run.rc != 0
    assert "staging locked for this run" in run.said or "Take the environment's deploy lock" in run.output
    assert "service_hardening" in run.said
    assert staging.lock("staging") is None


def test_an_exception_in_a_template_releases_the_lock(staging):
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", '{"service_log_level": "{{ 1 // 0 }}"}')
    assert run.rc != 0
    assert "division" in run.said.lower() or "ZeroDivisionError" in run.output
    assert staging.lock("staging") is None


def test_a_lock_whose_lease_ran_out_is_taken_over_with_a_warning(staging):
    staging.leave_lock("staging", "deploy of staging at deadbeef0000 by ghost@lost-runner since 2026-01-01T00:00:00Z",
                       "0123456789ab", time.time() - 30)
    run = staging.playbook("deploy.yml", "-l", "staging")
    assert run.rc == 0, run.output[-3000:]
    assert ("took over the deploy lock of staging from a run whose lease ran out: deploy of staging at "
            "deadbeef0000 by ghost@lost-runner") in run.said
    assert staging.lock("staging") is None


def test_a_live_lock_is_not_taken_over(staging):
    staging.leave_lock("staging", "deploy of staging at feedface0000 by ci@runner-7 since 2026-01-01T00:00:00Z",
                       "ba9876543210", time.time() + 300)
    try:
        run = staging.playbook("deploy.yml", "-l", "staging", "-e", "deploy_lock_timeout=2",
                               "-e", "deploy_lock_retry_delay=1")
        assert run.rc != 0
        assert "staging is locked by another run, deploy of staging at feedface0000 by ci@runner-7" in run.said
        assert "(run ba9876543210); its lease runs out in" in run.said
        assert run.changed == 0
        assert staging.lock("staging")["run_id"] == "ba9876543210"  # not this run's to delete
        broken = staging.playbook("deploy.yml", "-l", "staging", "-e", "deploy_lock_break=true")
        assert broken.rc == 0, broken.output[-3000:]
        assert staging.lock("staging") is None
    finally:
        staging.dynamodb().delete_item(TableName="pakashop-deploy-locks", Key={"lock_id": {"S": "staging"}})


def test_batches_of_two_hosts_take_and_release_the_lock_once(staging):
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", "deploy_serial=2")
    assert run.rc == 0, run.output[-3000:]
    assert run.output.count("TASK [Take the environment's deploy lock") == 1
    assert run.output.count("TASK [Release the deploy lock of the environment]") == 1
    assert staging.lock("staging") is None


def test_a_second_deploy_waits_for_the_first_and_then_deploys(staging):
    first, second = staging.while_locked("deploy.yml", ["-l", "staging"],
                                         ["-l", "staging", "-v", "-e", "deploy_lock_retry_delay=1"])
    assert first.rc == 0, first.output[-3000:]
    assert second.rc == 0, second.output[-3000:]
    assert "staging locked for this run" in second.said
    assert "after waiting" in second.said and "for deploy of staging at" in second.said
    assert staging.lock("staging") is None
