"""One release per environment (issue 14, item 5): with three staging hosts, a
commit whose api cannot start on the host deployed last fails the deploy there;
the hosts that moved earlier in the same run go back to what they ran before
(code, configuration, `current`), their ledger says why, and the summary says
which went back. With -e deploy_on_failure=stop they stay on the new commit.

Three staging hosts for this module only, as test_lock_stores.py: it grows the
session's lab by stg-3 and shrinks it back at the end, staging healthy on a
good commit of main."""

import os
import re

import pytest

from conftest import CHECKOUT, Lab, _lab

GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()
# The role's one activation call on a host: the hosts reach it in the deploy's order.
ACTIVATE = "Activate the releases behind the gates, going back if a gate fails (one call)"


def api_that_cannot_start_on(host):
    crash = (f"if __import__('socket').gethostname() == {host!r}:\n"
             f"    raise SystemExit('api: cannot start on {host}')\n")
    broken = GOOD_API.replace('service = Service("api")\n', f'service = Service("api")\n{crash}')
    assert broken != GOOD_API
    return broken


def api_state(lab, name):
    """What the api on a host runs: `current`, its REVISION, each instance's health version."""
    host = lab.host(name)
    current = host.file("/opt/pakashop/api/current").linked_to
    return {"current": current, "revision": host.file(f"{current}/REVISION").content_string.strip(),
            "versions": lab.serving("api")[name]}


@pytest.fixture(scope="module")
def three(staging):
    """The lab with stg-3, staging deployed on it; (lab, the hosts in the order a deploy takes them)."""
    os.environ["LAB_STAGING_HOSTS"] = "3"
    try:
        _lab("up")
        lab = Lab()
        run = lab.playbook("deploy.yml", "-l", "staging")
        assert run.rc == 0, run.output[-3000:]
        order = list(dict.fromkeys(t["host"] for t in run.tasks if t["task"] == ACTIVATE))
        assert sorted(order) == sorted(lab.names("staging")) and len(order) == 3, order
        yield lab, order
    finally:
        del os.environ["LAB_STAGING_HOSTS"]
        _lab("up")  # back to the session's two staging hosts
        staging.commit("main", {"api/main.py": GOOD_API + "# starts everywhere again\n"}, "api: starts everywhere")
        restored = staging.playbook("deploy.yml", "-l", "staging")
        assert restored.rc == 0, restored.output[-3000:]
        head = staging.head("main")
        assert all(set(v) == {head} for v in staging.serving("api").values()), staging.serving("api")


@pytest.fixture(scope="module")
def failed_last(three):
    """A commit whose api cannot start on the host deployed last, deployed with the default
    deploy_on_failure (go_back); what ran before it."""
    lab, order = three
    before = {name: api_state(lab, name) for name in order}
    previous = lab.head("main")
    bad = lab.commit("main", {"api/main.py": api_that_cannot_start_on(order[-1])},
                     f"api: cannot start on {order[-1]}")
    run = lab.playbook("deploy.yml", "-l", "staging")
    return {"lab": lab, "order": order, "before": before, "previous": previous, "bad": bad, "run": run}


def test_the_deploy_fails_on_the_host_deployed_last(failed_last):
    run, last = failed_last["run"], failed_last["order"][-1]
    assert run.rc != 0
    assert f"{last}: the deploy failed (api: gate '" in run.said, run.output[-3000:]
    assert "Last journal lines of pakashop-api@1.service" in run.said
    assert failed_last["lab"].lock("staging") is None


def test_the_hosts_that_moved_earlier_serve_the_previous_commit_again(failed_last):
    lab, order = failed_last["lab"], failed_last["order"]
    for name in order[:-1]:
        # they did move: the bad release was activated there, then left
        assert any(e.get("commit") == failed_last["bad"] and e.get("action") == "activate"
                   for e in lab.ledger(name, "api")), name
        assert api_state(lab, name) == failed_last["before"][name], name
    assert lab.serves("api") == {name: failed_last["previous"] for name in order}
    # and the host that failed went back on its own
    assert api_state(lab, order[-1]) == failed_last["before"][order[-1]]


def test_their_ledger_records_the_release_left_and_names_the_failed_host(failed_last):
    lab, order, bad = failed_last["lab"], failed_last["order"], failed_last["bad"]
    for name in order[:-1]:
        left = [e for e in lab.ledger(name, "api") if e.get("commit") == bad][-1]
        assert left["outcome"] == "rolled_back", left
        assert f"the deploy of {bad[:12]} failed on {order[-1]}" in left["reason"], left
        assert lab.ledger(name, "api")[-1]["outcome"] == "active"
    failed = [e for e in lab.ledger(order[-1], "api") if e.get("commit") == bad][-1]
    assert failed["outcome"] == "failed" and failed["failed_gate"]


def test_the_summary_says_which_hosts_went_back(failed_last):
    output, order = failed_last["run"].output, failed_last["order"]
    lab, bad = failed_last["lab"], failed_last["bad"]
    summary = " ".join(output.split("TASK [Summary]", 1)[1].split("TASK [", 1)[0].split())  # unwrapped
    for name in order:
        left = [e for e in lab.ledger(name, "api") if e.get("commit") == bad][-1]["release"]
        runs = lab.ledger(name, "api")[-1]["release"]
        outcome = "went back" if name != order[-1] else "FAILED at gate '"
        # the release it runs, and the one it left
        assert re.search(rf"{name} +api +{outcome}[^ ]* {runs} \(left {left}\)", summary), summary
    # the services the commit did not change were left alone everywhere
    assert "gateway went back" not in summary


def test_with_deploy_on_failure_stop_the_earlier_hosts_stay_on_the_new_commit(failed_last):
    lab, order, bad = failed_last["lab"], failed_last["order"], failed_last["bad"]
    run = lab.playbook("deploy.yml", "-l", "staging", "-e", "deploy_on_failure=stop")
    assert run.rc != 0
    assert f"{order[-1]}: the deploy failed (api: gate '" in run.said, run.output[-3000:]
    assert "went back" not in run.output.split("TASK [Summary]", 1)[1].split("TASK [", 1)[0]
    for name in order[:-1]:
        state = api_state(lab, name)
        assert state["revision"] == bad and state["versions"] == [bad, bad], (name, state)
        assert lab.ledger(name, "api")[-1]["outcome"] == "active"
    assert api_state(lab, order[-1]) == failed_last["before"][order[-1]]
    assert lab.lock("staging") is None
