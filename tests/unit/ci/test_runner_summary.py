"""ci/runner_summary.py on artifacts laid out as ansible-runner writes them."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "ci" / "runner_summary.py"
_spec = importlib.util.spec_from_file_location("runner_summary", SCRIPT)
runner_summary = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner_summary)

GATE_TASK = "Gate on the health of pakashop-api@1"
HEALTH = "pakashop.infra.service_health"


def event(kind, created="2026-01-01T10:00:00+00:00", **data):
    return {"event": kind, "created": created, "event_data": {"playbook": "playbooks/deploy.yml", **data}}


def recap(**per_host):
    """playbook_on_stats for hosts given as name={"ok": 3, "failures": 1, ...}."""
    keys = ["ok", "changed", "failures", "dark", "skipped", "rescued", "ignored", "processed"]
    stats = {key: {host: counts[key] for host, counts in per_host.items() if key in counts} for key in keys}
    return event("playbook_on_stats", created="2026-01-01T10:01:12+00:00", artifact_data={}, **stats)


def artifacts(tmp_path, status, events, stdout=""):
    (tmp_path / "job_events").mkdir()
    for counter, data in enumerate(events, start=1):
        data["counter"] = counter
        (tmp_path / "job_events" / f"{counter}-x.json").write_text(json.dumps(data))
    (tmp_path / "status").write_text(status)
    (tmp_path / "rc").write_text("0" if status == "successful" else "2")
    (tmp_path / "stdout").write_text(stdout)
    return tmp_path


def failed(task, host="stg-1", action=HEALTH, **res):
    return event("runner_on_failed", task=task, host=host, task_action=action, resolved_action=action,
                 role="service", res=res)


def test_a_successful_run_says_so_with_its_recap(tmp_path):
    run = artifacts(tmp_path, "successful", [
        event("playbook_on_start"),
        recap(**{"stg-1": {"ok": 67, "changed": 36}, "stg-2": {"ok": 75, "changed": 46, "skipped": 3}})])
    summary = runner_summary.render(run, "Deploy staging")
    assert summary.startswith("### ✅ Deploy staging succeeded\n")
    assert "took 1m 12s" in summary
    assert "| stg-1 | 67 | 36 | 0 | 0 | 0 | 0 |" in summary
    assert "| stg-2 | 75 | 46 | 0 | 0 | 3 | 0 |" in summary
    assert "Failed" not in summary


def test_a_failed_gate_names_service_host_and_gate_with_its_message(tmp_path):
    run = artifacts(tmp_path, "failed", [
        event("playbook_on_start"),
        failed(GATE_TASK, msg="pakashop-api@1: version 0000000, expected 3f4a276",
               failed_gates=[{"unit": "pakashop-api@1.service", "gate": "version"}]),
        recap(**{"stg-1": {"ok": 40, "failures": 1, "rescued": 1}})])
    summary = runner_summary.render(run, "Deploy staging")
    assert summary.startswith("### ❌ Deploy staging failed\n")
    assert f"- **stg-1** · service **api** · gate **version** failed — task `{GATE_TASK}`" in summary
    assert "  ```\n  pakashop-api@1: version 0000000, expected 3f4a276\n  ```" in summary


@pytest.mark.parametrize("action, gate", [
    ("ansible.builtin.systemd_service", "start"),
    (HEALTH, "health"),
])
def test_without_failed_gates_the_gate_follows_the_failed_task_of_the_instance(tmp_path, action, gate):
    run = artifacts(tmp_path, "failed", [failed("Restart the instance pakashop-notifications@2", action=action, msg="x")])
    assert f"service **notifications** · gate **{gate}** failed" in runner_summary.render(run)


def test_the_host_failing_after_its_revert_is_listed_with_the_whole_message(tmp_path):
    message = ("api on stg-2: gate 'unit' failed for release 20260101T100000Z-3f4a276.\n"
               "Went back to release 20251231T090000Z-1a2b3c4, which is serving and healthy again.\n"
               "Last journal lines of pakashop-api@1.service:\n  api: DATABASE_URL is not set")
    run = artifacts(tmp_path, "failed", [
        failed("Fail this host, naming the service, the gate and the journal", host="stg-2",
               action="ansible.builtin.fail", msg=message)])
    summary = runner_summary.render(run)
    assert "- **stg-2** · service **api** — task `Fail this host, naming the service, the gate and the journal`" in summary
    assert "    api: DATABASE_URL is not set" in summary


def test_a_result_that_names_its_service_and_gate_is_taken_at_its_word(tmp_path):
    run = artifacts(tmp_path, "failed", [
        failed("Roll back after a failed gate", host="stg-2", action="ansible.builtin.fail",
               service="moderation", gate="journal", msg="moderation on stg-2: errors in the journal")])
    assert "- **stg-2** · service **moderation** · gate **journal** failed" in runner_summary.render(run)


def test_a_failure_outside_a_service_names_host_and_task_only(tmp_path):
    run = artifacts(tmp_path, "failed", [
        failed("Refuse a run that does not select exactly one environment", host="stg-1",
               action="ansible.builtin.assert", msg="run it with -l staging or -l production."),
        event("runner_on_failed", task="Check", host="stg-2", ignore_errors=True, res={"msg": "ignored"})])
    summary = runner_summary.render(run)
    assert "- **stg-1** — task `Refuse a run that does not select exactly one environment`" in summary
    assert "ignored" not in summary


def test_a_no_log_result_shows_the_censored_notice_only(tmp_path):
    censored = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
    run = artifacts(tmp_path, "failed", [failed("Write the environment file (0600, root)",
                                                action="ansible.builtin.template", censored=censored)])
    assert censored in runner_summary.render(run)


def test_a_run_that_failed_before_any_task_shows_the_end_of_its_output(tmp_path):
    stdout = "\n".join(f"line {i}" for i in range(40)) + "\n\x1b[0;31m[ERROR]: inventory source failed\x1b[0m\n"
    run = artifacts(tmp_path, "failed", [event("playbook_on_start")], stdout=stdout)
    summary = runner_summary.render(run)
    assert "[ERROR]: inventory source failed" in summary and "\x1b" not in summary
    assert "line 39" in summary and "line 20" not in summary


def test_backticks_in_a_message_cannot_close_its_fence(tmp_path):
    run = artifacts(tmp_path, "failed", [failed(GATE_TASK, msg="journal: ```oops``` and more")])
    assert "  ````\n  journal: ```oops``` and more\n  ````" in runner_summary.render(run)


def test_a_playbook_report_from_set_stats_is_appended(tmp_path):
    stats = recap(**{"prd-1": {"ok": 5}})
    stats["event_data"]["artifact_data"] = {"pakashop_report": "| service | commit |\n|---|---|\n| api | 3f4a276 |"}
    run = artifacts(tmp_path, "successful", [event("playbook_on_start"), stats])
    assert runner_summary.render(run, "Status").endswith("| api | 3f4a276 |\n")


def test_the_command_line_refuses_a_folder_that_is_not_there(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        runner_summary.main([str(tmp_path / "nope")])
    assert stopped.value.code == 2
    assert "give runner/artifacts/<ident> of a run" in capsys.readouterr().err
