"""tests/chaos/judge.py: what a chaos case counts as having happened, and
run.py's exit code, without a lab."""


import pytest


@pytest.fixture
def chaos(scripts):
    return scripts("chaos", "judge", "run", "cases")


DEPLOYING = "PLAY [Plan the deploy] ***\nTASK [Take the environment's deploy lock] ***\nok\nPLAY [Deploy] ***\n"
HOLDER = "deploy of staging at 3f4a2761c0ff by ci@runner-7 since 2026-01-01T10:00:00Z"
LOCK = {"lock_id": "staging", "holder": HOLDER, "run_id": "0123456789ab"}
# A refusal as the YAML callback folds it (the changed counts come from the runner's stats).
REFUSAL = """TASK [Take the environment's deploy lock (waits while another run holds it)] ***
fatal: [staging-1 -> localhost]: FAILED! =>
    changed: false
    msg: 'staging is locked by another run, deploy of staging at 3f4a2761c0ff by ci@runner-7
        since 2026-01-01T10:00:00Z (run 0123456789ab); its lease runs out in 55 s, and stayed
        locked for 10 s: let that run finish; if it is dead, its lock goes when its lease runs
        out, or run again with -e deploy_lock_break=true.'

PLAY RECAP *********************************************************************
staging-1                  : ok=6    changed=0    unreachable=0    failed=1    skipped=2    rescued=0    ignored=0
staging-2                  : ok=4    changed=0    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
"""
DEPLOYED = DEPLOYING + "PLAY RECAP ***\nstaging-1                  : ok=40   changed=9    unreachable=0    failed=0\n"


def test_a_kill_counts_only_when_the_deploy_died_of_it_inside_the_deploy_play(chaos):
    kill = chaos.judge.Kill
    assert kill(12.0, True, 254, DEPLOYING).landed
    assert not kill(12.0, False, 0, DEPLOYED).landed  # it ended before the kill
    assert not kill(12.0, False, 2, DEPLOYED).landed
    assert not kill(1.0, True, 254, "PLAY [Plan the deploy] ***\n").landed  # still planning


def test_one_kill_that_missed_fails_the_case_and_says_why(chaos):
    judge = chaos.judge
    kills = [judge.Kill(10.4, True, 254, DEPLOYING), judge.Kill(31.0, False, 0, DEPLOYED),
             judge.Kill(2.0, True, 254, "PLAY [Plan the deploy] ***\n")]
    (what, good), _lock = judge.kill_checks(kills, 60.2)
    assert good is False
    assert what == ("1/3 SIGKILLs landed inside the deploy play, at 10s, 31s (missed: it ended before, rc 0), "
                    "2s (missed: killed before the deploy play) of its 60 s")


def test_kills_that_all_landed_and_left_no_lock_pass(chaos):
    judge = chaos.judge
    kills = [judge.Kill(point, True, 254, DEPLOYING) for point in (3.0, 40.0)]
    assert [good for _what, good in judge.kill_checks(kills, 60)] == [True, True]


def test_no_kill_at_all_is_no_pass(chaos):
    assert chaos.judge.kill_checks([], 60)[0][1] is False


def test_a_lock_left_after_a_kill_fails_naming_its_holder(chaos):
    judge = chaos.judge
    kills = [judge.Kill(3.0, True, 254, DEPLOYING), judge.Kill(9.0, True, 254, DEPLOYING, LOCK)]
    what, good = judge.kill_checks(kills, 60)[1]
    assert good is False
    assert what == f"the lock was gone after 1/2 kills (the keeper released it); left: {HOLDER}"


def test_a_host_is_reached_once_the_deploy_play_shows_it_not_when_the_plan_or_prepare_did(chaos):
    reached = chaos.judge.deploy_reached
    prepared = "PLAY [Prepare every host's releases] ***\nok: [stg-1]\nok: [stg-2]\n"
    first_batch = prepared + "PLAY [Deploy] ***\nincluded: pakashop.infra.service for stg-1\nchanged: [stg-1]\n"
    assert not reached(prepared, "stg-2")
    assert not reached(first_batch, "stg-2")
    assert reached(first_batch + "PLAY [Deploy] ***\nincluded: pakashop.infra.service for stg-2\nok: [stg-2]\n",
                   "stg-2")


def twin_verdicts(chaos, runs, lock=None, lock_timeout=10):
    return [good for _what, good in chaos.judge.twin_checks(runs, lock or LOCK, lock_timeout, retry_delay=1)]


def test_two_deploys_pass_when_one_deployed_and_the_other_waited_and_was_refused_naming_the_holder(chaos):
    run = chaos.judge.Run
    assert twin_verdicts(chaos, [run(0, 80.0, DEPLOYED, 9), run(2, 10.5, REFUSAL, 0)]) == [True, True, True, True]


def test_a_refusal_that_did_not_wait_is_no_pass(chaos):
    run = chaos.judge.Run
    assert twin_verdicts(chaos, [run(0, 80.0, DEPLOYED, 9), run(2, 0.4, REFUSAL, 0)])[1] is False
    assert twin_verdicts(chaos, [run(0, 80.0, DEPLOYED, 9), run(2, None, REFUSAL, 0)])[1] is False


def test_a_refusal_naming_another_holder_or_another_wait_is_no_pass(chaos):
    run = chaos.judge.Run
    runs = [run(0, 80.0, DEPLOYED, 9), run(2, 10.5, REFUSAL, 0)]
    assert twin_verdicts(chaos, runs, lock={**LOCK, "run_id": "ba9876543210"})[2] is False
    assert twin_verdicts(chaos, runs, lock_timeout=5)[2] is False
    assert twin_verdicts(chaos, [run(0, 80.0, DEPLOYED, 9), run(2, 10.5, REFUSAL.replace("locked by", "held by"), 0)])[2] is False


def test_a_refused_run_that_changed_something_or_has_no_stats_is_no_pass(chaos):
    run = chaos.judge.Run
    assert twin_verdicts(chaos, [run(0, 80.0, DEPLOYED, 9), run(2, 10.5, REFUSAL, 1)])[3] is False
    assert twin_verdicts(chaos, [run(0, 80.0, DEPLOYED, 9), run(2, 10.5, REFUSAL, None)])[3] is False


def test_two_deploys_that_both_succeeded_or_both_failed_are_no_pass(chaos):
    run = chaos.judge.Run
    assert twin_verdicts(chaos, [run(0, 80.0, DEPLOYED, 9), run(0, 150.0, DEPLOYED, 9)]) == [False] * 4
    assert twin_verdicts(chaos, [run(2, 10.5, REFUSAL, 0), run(2, 10.5, REFUSAL, 0)]) == [False] * 4


class FakeLab:
    """Just enough lab for run.py's start: staging deploys."""

    def sync_backend(self):
        pass

    @staticmethod
    def deploy(**_args):
        return 0, ""


def test_make_chaos_exits_1_when_a_case_falls_short_and_0_when_all_pass(chaos, monkeypatch, tmp_path):
    run, cases = chaos.run, chaos.cases
    monkeypatch.setattr(run, "Lab", FakeLab)
    monkeypatch.setenv("CHAOS_REPORT", str(tmp_path / "chaos.md"))

    def case(ok):
        return lambda lab: cases.Result("a case", "it holds", "it held" if ok else "FAILED: it did not", ok, 0, 1)
    monkeypatch.setattr(cases, "CASES", [case(True), case(False)])
    assert run.main() == 1
    monkeypatch.setattr(cases, "CASES", [case(True)])
    assert run.main() == 0


def test_make_chaos_refuses_a_case_name_it_does_not_know(chaos, monkeypatch):
    monkeypatch.setattr(chaos.run, "Lab", FakeLab)
    monkeypatch.setenv("CHAOS_CASES", "rolling_deploy,killed_deploy")
    assert chaos.run.main() == 2
