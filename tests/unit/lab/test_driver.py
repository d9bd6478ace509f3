"""lab/driver.py without a lab: the PLAY RECAP's rows from ansible-runner's
stats, a run's timeout named, and a real run of a local playbook through the
runner, its artifacts gone once it is read."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from lab import driver  # noqa: E402  pylint: disable=wrong-import-position

# ansible-runner's stats of a run on two hosts: stg-1 changed twice and failed
# once; stg-2 unreachable; localhost ran and counts nowhere else.
STATS = {"skipped": {"stg-1": 3}, "ok": {"stg-1": 7, "localhost": 2}, "dark": {"stg-2": 1},
         "failures": {"stg-1": 1}, "ignored": {}, "rescued": {"stg-1": 1},
         "processed": {"stg-1": 1, "stg-2": 1, "localhost": 1}, "changed": {"stg-1": 2}}
PLAYBOOK = """- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.command: "{{ command }}"
    - ansible.builtin.debug:
        msg: a message
"""


def test_the_stats_give_each_host_its_recap_row():
    assert driver.per_host(STATS) == {
        "stg-1": {"ok": 7, "changed": 2, "unreachable": 0, "failed": 1, "skipped": 3, "rescued": 1, "ignored": 0},
        "stg-2": {"ok": 0, "changed": 0, "unreachable": 1, "failed": 0, "skipped": 0, "rescued": 0, "ignored": 0},
        "localhost": {"ok": 2, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 0, "rescued": 0,
                      "ignored": 0}}


def test_a_run_counts_the_changed_tasks_of_every_host():
    run = driver.Run(2, "output", {**STATS, "changed": {"stg-1": 2, "stg-2": 3}})
    assert run.changed == 5
    assert run.recap["stg-2"]["changed"] == 3


def test_a_run_without_stats_has_no_recap_and_changed_nothing():
    for run in (driver.Run(4, "ERROR! no inventory"), driver.Run(4, "", None, "failed")):
        assert run.recap == {} and run.changed == 0


def test_said_undoes_the_yaml_folding_and_doubled_quotes():
    assert driver.Run(0, "msg: 'it''s\n    folded'\n").said == "msg: 'it's folded'"


def test_the_timeout_message_names_the_run_and_ends_with_its_output():
    message = driver.timeout_message("ansible-playbook deploy.yml -l staging", 480, "x" * 5000 + "TASK [Wait]")
    assert message.startswith("ansible-playbook deploy.yml -l staging ran past 480 s; its output ended with:\n")
    assert message.endswith("TASK [Wait]") and len(message.split("\n", 1)[1]) == 2000


def local_run(tmp_path, command, **kwargs):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    return driver.PlaybookRun(str(playbook), "-i", "localhost,", "-c", "local", "-e", f"command={command!r}",
                              "-e", f"ansible_python_interpreter={sys.executable}",
                              env={"ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.host_list"},
                              runs_dir=tmp_path / "runs", log=tmp_path / "run.log", **kwargs)


def test_a_run_reads_its_stats_from_the_runner_and_leaves_no_artifacts(tmp_path):
    started = local_run(tmp_path, "echo hello")
    run = started.wait()
    assert run.rc == 0 and run.status == "successful", run.output
    assert run.recap == {"localhost": {"ok": 2, "changed": 1, "unreachable": 0, "failed": 0, "skipped": 0,
                                       "rescued": 0, "ignored": 0}}
    assert "TASK [ansible.builtin.debug]" in run.output and "\r" not in run.output
    assert "msg: a message" in (tmp_path / "run.log").read_text()
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_run_past_its_timeout_is_killed_and_named(tmp_path):
    started = local_run(tmp_path, "sleep 30", timeout=2)
    with pytest.raises(driver.PlaybookTimeout) as raised:
        started.wait(20)
    assert str(raised.value).startswith(f"ansible-playbook {tmp_path / 'play.yml'} -i localhost, -c local")
    assert "ran past 2 s" in str(raised.value) and "TASK [ansible.builtin.command]" in str(raised.value)
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_killed_run_says_so(tmp_path):
    started = local_run(tmp_path, "sleep 30")
    while "TASK [ansible.builtin.command]" not in started.text():
        assert started.wait(0.2) is None, "the run ended before it was killed"
    started.kill()
    run = started.wait(20)
    assert run.killed and run.rc != 0
