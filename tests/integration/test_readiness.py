"""Readiness beyond HTTP on the lab (issue 14): the notifications worker has no
port and no socket, tells systemd READY=1 with its commit (Type=notify), and
its gate waits for that; a release that never says it, or that crashes at
start, goes back to the previous release; a readiness command gates it too.

The session's staging is reused and only notifications is deployed
(-e services=notifications); the module ends with notifications back on a
good commit.
"""

import json
import time

import pytest
import yaml

from conftest import CHECKOUT

GOOD_MAIN = (CHECKOUT / "examples/backend/notifications/main.py").read_text()
UNIT = "pakashop-notifications@1"
ROOT = "/opt/pakashop/notifications"
SPOOL = f"{ROOT}/shared/spool"
# A release whose worker has the line REFUSED fails this command (gate 'ready').
REFUSED = "# readiness: refuse this release"
COMMAND = f"! grep -qx '{REFUSED}' {ROOT}/current/notifications/main.py && cat {ROOT}/current/REVISION"


def worker_with(line):
    """The sample worker with one line added after its settings."""
    return GOOD_MAIN.replace("POLL_SECONDS = 0.5\n", f"POLL_SECONDS = 0.5\n{line}\n")


def deploy(lab, *args):
    return lab.playbook("deploy.yml", "-l", "staging", "-e", "services=notifications", *args)


@pytest.fixture(scope="module")
def worker(staging):
    """(lab, host) with notifications deployed; at the end it is back on a good commit."""
    lab = staging
    name = [n for n in lab.names("staging") if "notifications" in lab.by_name(n).services][0]
    yield lab, name
    lab.commit("main", {"notifications/main.py": GOOD_MAIN + f"# restored {time.time()}\n"},
               "Restore notifications")
    run = deploy(lab)
    assert run.rc == 0, run.output[-3000:]
    assert lab.serving("notifications")[name] == [lab.head("main")]


def show(host, prop, unit=f"{UNIT}.service"):
    return host.check_output(f"systemctl show -p {prop} --value {unit}")


def running(lab, name):
    """The commit of the release `current` points at on the host."""
    return lab.host(name).file(f"{ROOT}/current/REVISION").content_string.strip()


def test_the_worker_runs_type_notify_without_socket_or_port_and_sends_from_its_spool(worker, tmp_path):
    lab, name = worker
    host = lab.host(name)
    commit = running(lab, name)
    assert (show(host, "Type"), show(host, "NotifyAccess"), show(host, "ActiveState")) == ("notify", "main", "active")
    assert show(host, "StatusText") == f"service=notifications version={commit}"
    # no socket unit, no socket or port drop-in: the instance's drop-in sets nothing
    assert not host.file("/etc/systemd/system/pakashop-notifications@.socket").exists
    assert show(host, "LoadState", f"{UNIT}.socket") == "not-found"
    assert host.run(f"ls /etc/systemd/system/{UNIT}.service.d").stdout.split() == ["instance.conf"]
    assert not host.file(f"/etc/systemd/system/{UNIT}.socket.d").exists
    pid = show(host, "MainPID")
    environ = host.check_output(f"tr '\\0' '\\n' < /proc/{pid}/environ").splitlines()
    assert not [v for v in environ if v.startswith(("PORT=", "LISTEN_FDS="))], environ
    assert f"pid={pid}," not in host.run("ss -Hltnp").stdout  # it listens on nothing

    host.check_output(f"""echo '{{"to": "ana@example.com", "subject": "Order 17 shipped"}}' > {SPOOL}/17.tmp && """
                      f"mv {SPOOL}/17.tmp {SPOOL}/17.json && "
                      f"timeout 10 sh -c 'until [ -e {SPOOL}/sent/17.json ]; do sleep 0.2; done'")
    assert "sent 'Order 17 shipped' to ana@example.com" in host.check_output(
        f"journalctl -u {UNIT} --no-pager -o cat")

    verify = lab.playbook("verify.yml", "-l", "staging", "-e", "services=notifications")
    assert verify.rc == 0, verify.output[-3000:]
    assert (f"{UNIT}.service: healthy - active/running, status 'service=notifications version={commit}', "
            f"version {commit[:7]}, 0 restarts") in verify.said

    status = lab.playbook("status.yml", "-e", f"status_output_dir={tmp_path}")
    assert status.rc == 0, status.output[-3000:]
    rows = {(r["environment"], r["service"], r["host"]): r
            for r in json.loads((tmp_path / "status.json").read_text())["rows"]}
    row = rows[("staging", "notifications", name)]
    # commit: the environment's commit its release serves (a later commit may have left it alone);
    # built_from: the one it was built from, which the worker reports as its version
    serves = lab.serves("notifications")[name]
    assert row["healthy"] is True and (row["commit"], row["built_from"]) == (serves, commit)
    assert row["verdicts"][0].startswith(f"{UNIT}.service: healthy - active/running, status 'service=notifications "
                                         f"version={commit}'")
    assert f"| staging | notifications | {name} | {serves[:10]} |" in (tmp_path / "status.md").read_text()


def went_back(lab, name, run, bad, before, gates):
    """The deploy of `bad` failed one of `gates` on the host, which is back on `before`."""
    assert run.rc != 0
    gate = next((g for g in gates if f"{name}: the deploy failed (notifications: gate '{g}' failed" in run.said), None)
    assert gate, f"none of the gates {gates} named in: {run.output[-3000:]}"
    assert "which is serving and healthy again" in run.said
    left = [e for e in lab.ledger(name, "notifications") if e.get("commit") == bad]
    assert left[-1]["outcome"] == "failed" and left[-1]["failed_gate"] == gate
    assert running(lab, name) == before and show(lab.host(name), "ActiveState") == "active"
    assert lab.lock("staging") is None
    return gate


def test_a_release_that_never_says_ready_fails_gate_ready_and_goes_back(worker):
    lab, name = worker
    before = running(lab, name)
    bad = lab.commit("main", {"notifications/main.py": worker_with("").replace(
        'sd_notify(f"READY=1', 'log(f"holding back READY=1')}, "notifications never says READY=1")

    started = time.monotonic()
    run = deploy(lab, "-e", "service_health_timeout=10")

    went_back(lab, name, run, bad, before, ["ready"])
    assert f"{UNIT}.service: gate 'ready' failed - it has not told systemd READY=1 (sd_notify)" in run.said
    assert lab.serving("notifications")[name] == [before]  # told systemd READY=1 on the previous commit
    assert time.monotonic() - started < 240  # not held by systemctl until systemd's own start timeout


def test_a_release_that_crashes_at_start_goes_back(worker):
    lab, name = worker
    before = running(lab, name)
    bad = lab.commit("main", {"notifications/main.py": worker_with(
        "raise SystemExit('notifications: SMTP_URL is not set')")}, "notifications crashes at start")

    run = deploy(lab)

    went_back(lab, name, run, bad, before, ["restarting", "unit"])
    assert lab.serving("notifications")[name] == [before]
    assert "notifications: SMTP_URL is not set" in run.said.split(f"Last journal lines of {UNIT}.service", 1)[1]


def test_a_readiness_command_gates_the_worker(worker, tmp_path):
    lab, name = worker
    catalog = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())
    catalog["pakashop_service_catalog"]["notifications"].update(readiness="command", readiness_command=COMMAND)
    command = tmp_path / "command.yml"
    command.write_text(yaml.safe_dump(catalog))
    host = lab.host(name)
    good = lab.commit("main", {"notifications/main.py": GOOD_MAIN + f"# {time.time()}\n"}, "notifications: a good one")

    passes = deploy(lab, "-e", f"@{command}")
    assert passes.rc == 0, passes.output[-3000:]
    assert show(host, "Type") == "exec" and running(lab, name) == good
    verify = lab.playbook("verify.yml", "-l", "staging", "-e", "services=notifications", "-e", f"@{command}")
    assert verify.rc == 0, verify.output[-3000:]
    assert f"{UNIT}.service: healthy - active/running, readiness command exited 0 in" in verify.said

    bad = lab.commit("main", {"notifications/main.py": GOOD_MAIN + REFUSED + "\n"},
                     "notifications: a release its readiness command refuses")
    fails = deploy(lab, "-e", f"@{command}", "-e", "service_health_timeout=5")
    went_back(lab, name, fails, bad, good, ["ready"])
    assert f"{UNIT}.service: gate 'ready' failed - its readiness command exited 1" in fails.said
