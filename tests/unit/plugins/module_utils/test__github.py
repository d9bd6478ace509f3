"""The verdict on a commit's checks (module_utils/_github.py): which checks
count, what each state means, and the sentence a refusal is made of."""

import pytest

from ansible_collections.pakashop.infra.plugins.module_utils._github import checks_sentence, checks_verdict

SHA = "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed"


def run(name, status="completed", conclusion="success", run_id=1, started="2026-12-01T10:00:00Z"):
    return {"id": run_id, "name": name, "status": status, "started_at": started,
            "conclusion": conclusion if status == "completed" else None}


def status(context, state):
    return {"context": context, "state": state}


@pytest.mark.parametrize("runs, statuses, required, state", [
    ([run("ci")], [], ["ci"], "success"),
    ([run("ci", conclusion="neutral"), run("lint", conclusion="skipped", run_id=2)], [], None, "success"),
    ([run("ci", status="in_progress")], [], ["ci"], "pending"),
    ([run("ci", status="queued")], [], None, "pending"),
    ([run("ci", conclusion="failure")], [], ["ci"], "failure"),
    ([run("ci", conclusion="timed_out")], [], None, "failure"),
    ([run("ci", conclusion="cancelled")], [], None, "failure"),
    ([run("ci", conclusion="action_required")], [], None, "failure"),
    ([], [status("deploy/vercel", "success")], None, "success"),
    ([], [status("deploy/vercel", "pending")], None, "pending"),
    ([], [status("deploy/vercel", "error")], None, "failure"),
    # required: only those count; a failing check that is not required does not stop it
    ([run("ci"), run("lint", conclusion="failure", run_id=2)], [], ["ci"], "success"),
    # a required check that has not reported
    ([run("lint")], [], ["ci"], "pending"),
    # no check at all: CI has not started
    ([], [], None, "pending"),
    # protection that requires nothing
    ([], [], [], "success"),
    # a failure wins over a pending check
    ([run("ci", conclusion="failure"), run("lint", status="in_progress", run_id=2)], [], None, "failure"),
    # the newest run of a name counts (a re-run that passed)
    ([run("ci", conclusion="failure", run_id=1, started="2026-12-01T10:00:00Z"),
      run("ci", run_id=2, started="2026-12-01T10:05:00Z")], [], ["ci"], "success"),
    ([run("ci", run_id=1, started="2026-12-01T10:00:00Z"),
      run("ci", conclusion="failure", run_id=2, started="2026-12-01T10:05:00Z")], [], ["ci"], "failure"),
], ids=["required green", "neutral and skipped pass", "in progress", "queued", "failed", "timed out",
        "cancelled", "action required", "status green", "status pending", "status error",
        "unrequired failure ignored", "required missing", "no checks", "nothing required",
        "failure beats pending", "re-run passed", "re-run failed"])
def test_the_verdict(runs, statuses, required, state):
    assert checks_verdict(runs, statuses, required)["state"] == state


def test_a_check_run_and_a_status_of_one_name_count_once_as_the_check_run():
    verdict = checks_verdict([run("ci")], [status("ci", "failure")])
    assert [c["kind"] for c in verdict["checks"]] == ["check_run"] and verdict["state"] == "success"


@pytest.mark.parametrize("runs, required, sentence", [
    ([run("ci")], ["ci"], "the GitHub checks of 3f4a276 on pakashop/backend are green (required by branch protection: ci)"),
    ([run("ci")], None, "the GitHub checks of 3f4a276 on pakashop/backend are green (every check: ci)"),
    ([run("ci", conclusion="failure")], None, "the GitHub checks of 3f4a276 on pakashop/backend failed (ci failure)"),
    ([run("ci", status="in_progress")], ["ci"],
     "the GitHub checks of 3f4a276 on pakashop/backend are not done (ci in_progress)"),
    ([], ["ci"], "the GitHub checks of 3f4a276 on pakashop/backend are not done (ci not reported)"),
    ([], None, "no GitHub check has reported on 3f4a276 on pakashop/backend yet"),
], ids=["green required", "green every", "failed", "in progress", "not reported", "none"])
def test_the_sentence_names_what_is_missing_and_its_state(runs, required, sentence):
    assert checks_sentence(checks_verdict(runs, [], required), SHA, "pakashop/backend") == sentence
