"""tests/bench/scenarios.py: what counts as a failed run, without a lab."""

import pytest


@pytest.fixture
def scenarios(scripts):
    return scripts("bench", "scenarios").scenarios


def test_a_fast_rollback_whose_deploy_forward_failed_is_a_failed_run(scenarios, monkeypatch):
    for forward_rc in (2, 0):
        runs = {"rollback.yml": (5.0, 0, 1.0), "deploy.yml": (60.0, forward_rc, 9.0)}  # (seconds, rc, CPU s)
        monkeypatch.setattr(scenarios, "playbook", lambda name, *args, env=None, log=None, profile=None, runs=runs: runs[name])
        assert scenarios.fast_rollback() == (5.0, forward_rc, 1.0)  # the rollback's time, either's failure
