"""tests/bench/report.py: which runs failed and the aims, never from a failed
run; and run.py's exit code, without a lab."""

import json

import pytest


@pytest.fixture
def bench(scripts):
    return scripts("bench", "report", "run")


FLOOR = "floor: the same work by a bare ssh script (floor.py)"


def measured(median, ok=True, cpu=1.0, hosts=2):
    return {"median_s": median, "runs_s": [median] * 3, "median_cpu_s": cpu, "all_ok": ok, "hosts": hosts,
            "load_1m": [0.5, 1.5, 1.0]}


def results(failed=()):
    """Every measurement the aims use, all runs passed but those named in `failed`."""
    def m(name, median, cpu=1.0):
        return measured(median, ok=name not in failed, cpu=cpu)
    return {"deploy": {FLOOR: m(FLOOR, 10.0), "changed deploy": m("changed deploy", 60.0, cpu=20.0),
                       "no-change redeploy": m("no-change redeploy", 12.0),
                       "fast rollback": m("fast rollback", 30.0), "a commit to api/ only": m("api only", 24.0)},
            "settings": {"pipelining": {"on": m("pipelining on", 60.0), "off": m("pipelining off", 90.0)}},
            "scaling": {"2 hosts": m("2 hosts", 60.0), "8 hosts": m("8 hosts", 80.0)}}


def test_the_aims_are_computed_from_measurements_whose_runs_all_passed(bench):
    assert bench.report.aims(results()) == [
        ("changed deploy < 4x the floor", 6.0, 4),
        ("no-change redeploy < 2x the floor", 1.2, 2),
        ("fast rollback < 3x the floor", 3.0, 3),
        ("a commit to api/ only < 0.5x a changed deploy", 0.4, 0.5),
        ("CPU s per host of a changed deploy < half of 18 (the issue's figure)", 10.0, 9.0),
        ("8 hosts < 1.5x 2 hosts", 1.33, 1.5)]


def test_an_aim_is_not_computed_from_a_measurement_with_a_failed_run(bench):
    aims = bench.report.aims(results(failed=["no-change redeploy", "2 hosts"]))
    assert [measured for _aim, measured, _limit in aims] == [6.0, None, 3.0, 0.4, 10.0, None]
    # the changed deploy is the measure of two aims and the floor of one more, the floor of three
    assert [m for _a, m, _l in bench.report.aims(results(failed=["changed deploy"]))] == [
        None, 1.2, 3.0, None, None, 1.33]
    assert [m for _a, m, _l in bench.report.aims(results(failed=[FLOOR]))] == [
        None, None, None, 0.4, 10.0, 1.33]


def test_failed_runs_names_each_measurement_with_a_failed_run(bench):
    assert bench.report.failed_runs(results()) == []
    assert bench.report.failed_runs(results(failed=["fast rollback", "pipelining off"])) == [
        "deploy: fast rollback", "settings: pipelining off"]


def test_the_report_says_an_aim_was_not_measured_and_why(bench, tmp_path):
    bench.report.write(tmp_path, results(failed=["no-change redeploy"]))
    text = (tmp_path / "bench.md").read_text()
    assert "| no-change redeploy < 2x the floor | - | no |" in text
    assert "| fast rollback < 3x the floor | 3.0 | no |" in text
    assert "Not measured from a measurement with a failed run: deploy: no-change redeploy." in text
    assert "| pipelining on | 60.0 | 1.0 | 0.5 | 1.0 | [60.0, 60.0, 60.0] | True |" in text
    assert "| CPU s per host of a changed deploy < half of 18 (the issue's figure) | 10.0 | no |" in text
    assert json.loads((tmp_path / "bench.json").read_text())["deploy"]["no-change redeploy"]["all_ok"] is False


def test_make_bench_exits_1_when_a_run_failed_and_0_when_none_did(bench, monkeypatch, tmp_path):
    run = bench.run
    monkeypatch.setenv("BENCH_REPORTS", str(tmp_path))
    monkeypatch.setenv("BENCH_SECTIONS", "deploy")
    monkeypatch.setitem(run.SECTIONS, "deploy", lambda: {"changed deploy": measured(60.0, ok=False)})
    assert run.main() == 1
    monkeypatch.setitem(run.SECTIONS, "deploy", lambda: {"changed deploy": measured(60.0)})
    assert run.main() == 0


def test_the_profile_sums_each_task_over_the_hosts_and_counts_each_hosts_tasks(bench, tmp_path):
    waves = [{"step": "switch", "seconds": 0.25}, {"step": "wave 1 - api", "seconds": 1.5},
             {"step": "wave 2 - api", "seconds": 1.0}]
    tasks = [{"host": "stg-1", "task": "Plan", "seconds": 2.0},
             {"host": "stg-1", "task": "Restart", "seconds": 3.0, "steps": waves},
             {"host": "stg-2", "task": "Restart", "seconds": 4.0, "steps": waves},
             {"host": "stg-2", "task": "Compare", "seconds": 1.0}]
    summary = bench.report.profile(tasks)
    assert summary == {"task_seconds": 10.0,
                       "hosts": {"stg-1": {"tasks": 2, "seconds": 5.0}, "stg-2": {"tasks": 2, "seconds": 5.0}},
                       "top": [{"task": "Restart", "calls": 2, "seconds": 7.0, "share": 0.7},
                               {"task": "Plan", "calls": 1, "seconds": 2.0, "share": 0.2},
                               {"task": "Compare", "calls": 1, "seconds": 1.0, "share": 0.1}],
                       "inside": {"waves (restarts and gates)": 5.0, "switch": 0.5}}
    bench.report.write(tmp_path, {**results(), "profile": {"changed deploy": summary}})
    text = (tmp_path / "bench.md").read_text()
    assert "Task seconds in all: 10.0; per host: stg-1 2 tasks / 5.0 s, stg-2 2 tasks / 5.0 s." in text
    assert "| Restart | 2 | 7.0 | 70% |" in text
    assert "Inside the calls that report their steps (release_activate, all hosts): waves (restarts and gates) 5.0 s, switch 0.5 s." in text
    # the profile is no measurement: no aim or failed run comes of it
    assert bench.report.failed_runs({**results(), "profile": {"changed deploy": summary}}) == []
