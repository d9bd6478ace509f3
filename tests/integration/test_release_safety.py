"""A deploy never leaves a host worse than it found it (issue 4).

Each case commits a broken api to main in the lab's origin, deploys staging,
and checks that the previous release keeps serving: a failed gate leaves
staging healthy, so the next case starts from there, and a good api is put
back once, after the module, for the tests that follow.
"""

import os
import random
import re
import signal
import subprocess
import time

import pytest
import yaml

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instance_port
from conftest import BIN, CHECKOUT

GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()


def api_with(line):
    return GOOD_API.replace('service = Service("api")\n', f'service = Service("api")\n{line}\n')


@pytest.fixture(scope="module")
def restore_api(staging):
    yield
    staging.commit("main", {"api/main.py": GOOD_API + f"# restored {time.time()}\n"}, "Restore api")
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", "services=api")
    assert run.rc == 0, run.output[-3000:]


# A release that exits at start crash-loops ('restarting') until systemd
# gives up on it ('unit'), whichever the gate sees first.
@pytest.mark.parametrize("breakage, line, gates, journal", [
    ("exits at start", "raise SystemExit('api: DATABASE_URL is not set')", ("restarting", "unit"),
     "api: DATABASE_URL is not set"),
    ("health never turns OK", "Service.health = lambda self: 1 / 0", ("health",), None),
    ("reports the wrong commit", "service.commit = '0' * 40", ("version",), None),
])
def test_a_failed_gate_puts_the_previous_release_back(staging, restore_api, breakage, line, gates, journal):
    lab = staging
    # What staging serves now (earlier tests may have moved main past it).
    before = lab.serving("api")
    bad = lab.commit("main", {"api/main.py": api_with(line)}, f"Break api: {breakage}")

    run = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=api")

    assert run.rc != 0
    failed = [name for name in lab.names("staging")
              if any(e.get("commit") == bad for e in lab.ledger(name, "api"))]
    assert len(failed) == 1, "exactly one host tried the bad release, then the deploy stopped"
    host = failed[0]
    gate = next((g for g in gates if f"{host}: the deploy failed (api: gate '{g}' failed for release " in run.said),
                None)
    assert gate, f"none of the gates {gates} named in: {run.output[-2000:]}"
    assert "which is serving and healthy again" in run.said
    assert lab.lock("staging") is None  # a failed task leaves staging unlocked
    assert "Last journal lines of pakashop-api@1.service" in run.said
    if journal:  # the lines themselves, not only their header
        assert journal in run.said.split("Last journal lines of pakashop-api@1.service", 1)[1]
    # every api instance in staging still serves what it served before
    assert lab.serving("api") == before
    left = [e for e in lab.ledger(host, "api") if e.get("commit") == bad]
    assert left[-1]["outcome"] == "failed" and left[-1]["failed_gate"] == gate
    current = lab.host(host).file("/opt/pakashop/api/current").linked_to
    assert lab.host(host).file(f"{current}/REVISION").content_string.strip() == before[host][0]


def test_a_fallback_to_a_release_that_is_not_healthy_either_says_so(staging, restore_api):
    lab = staging
    hosts = list(lab.serving("api"))
    # Break the running release's code on disk: it keeps serving until restarted.
    for name in hosts:
        lab.host(name).run("sed -i 's/^service = Service(\"api\")$/&\\nService.health = lambda self: 1 \\/ 0/' "
                           "/opt/pakashop/api/current/api/main.py")
    bad = lab.commit("main", {"api/main.py": api_with("raise SystemExit('api: broken at start')")},
                     "Break api at start")

    run = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=api")

    assert run.rc != 0
    tried = [n for n in hosts if any(e.get("commit") == bad for e in lab.ledger(n, "api"))]
    assert len(tried) == 1
    assert re.search(r"Went back \(api to [^)]*\), but it is not healthy either", run.said), run.output[-3000:]
    assert [e for e in lab.ledger(tried[0], "api") if e.get("commit") == bad][-1]["outcome"] == "failed"


def test_errors_in_the_log_are_shown_but_do_not_fail_the_deploy(staging, restore_api):
    lab = staging
    noisy = api_with("log('api: cache warm-up failed, serving without cache', 3)").replace(
        "from pakashop_service import Service", "from pakashop_service import Service, log")
    new = lab.commit("main", {"api/main.py": noisy}, "api logs an error at start")

    run = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=api")

    assert run.rc == 0, run.output[-3000:]
    assert "cache warm-up failed" in run.said  # shown as a warning with the line
    assert all(v == [new, new] for v in lab.serving("api").values())
    for name in lab.serving("api"):
        assert lab.ledger(name, "api")[-1]["outcome"] == "active"


def test_a_deploy_killed_during_activation_converges_when_run_again(staging):
    lab = staging
    hosts = list(lab.serving("api"))  # whichever the deploy reaches first
    # On each api host: sample `current` every 20 ms until told to stop; any moment
    # it is missing or points at an unfinished release is written to the watch
    # file, between a first and a last line that prove the watch covered the kills.
    watch = ("rm -f /tmp/current-watch-stop; echo watching > /tmp/current-watch; "
             "while [ ! -e /tmp/current-watch-stop ]; do t=$(readlink /opt/pakashop/api/current) || echo missing; "
             "[ -e /opt/pakashop/api/$t/.unfinished ] && echo unfinished $t; sleep 0.02; done "
             ">> /tmp/current-watch 2>&1; echo stopped >> /tmp/current-watch")
    for host in hosts:
        lab.host(host).run(f"nohup bash -c '{watch}' >/dev/null 2>&1 &")
    for attempt in range(3):
        lab.commit("main", {"api/main.py": GOOD_API + f"# change {attempt} {time.time()}\n"},
                   f"api change {attempt}")
        proc = subprocess.Popen(
            [BIN / "ansible-playbook", "playbooks/deploy.yml", "-l", "staging", "-e", "services=api"],
            cwd=CHECKOUT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True, env=os.environ)
        killed = False
        for line in proc.stdout:
            if "Activate the releases behind the gates, going back if a gate fails (one call)" in line:
                time.sleep(random.uniform(0.0, 2.0))
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
        proc.wait()
        proc.stdout.close()
        assert killed, f"attempt {attempt}: the deploy ended before it reached the activation"
        # The SIGKILLed run cannot release its lock; its keeper does, at once.
        assert lab.wait_for_lock("staging", present=False, seconds=5), lab.lock("staging")
    new = lab.head("main")

    again = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=api")

    assert again.rc == 0, again.output[-3000:]
    assert all(v == [new, new] for v in lab.serving("api").values())
    for host in hosts:
        lab.host(host).run("touch /tmp/current-watch-stop")
    time.sleep(1)
    for host in hosts:
        watched = lab.host(host).file("/tmp/current-watch").content_string.split("\n")
        assert watched[0] == "watching" and watched[-2:] == ["stopped", ""], f"{host}: the watch did not run the whole time"
        violations = [line for line in watched[1:-2] if line]
        assert violations == [], (host, violations)


def test_scaling_instances_starts_and_stops_exactly_the_extra_ones(staging, tmp_path):
    lab = staging
    catalog = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())
    catalog["pakashop_service_catalog"]["api"]["instances"] = 3
    three = tmp_path / "three.yml"
    three.write_text(yaml.safe_dump(catalog))

    api_hosts = list(lab.serving("api"))
    # main's head may hold a broken api from a case above: this test deploys the head
    lab.commit("main", {"api/main.py": GOOD_API + f"# scaling {time.time()}\n"}, "api: good, before scaling")

    def host_state(name):
        return lab.host(name).run(
            "readlink /opt/pakashop/*/current; md5sum /var/lib/pakashop/ledger/*.json /etc/pakashop/*.env "
            "/etc/systemd/system/pakashop-*; ls -d /etc/systemd/system/pakashop-*.service.d; "
            "systemctl show -p MainPID --value 'pakashop-*@*.service'").stdout
    before = {name: host_state(name) for name in api_hosts}
    check = lab.playbook("deploy.yml", "-l", "staging", "-e", f"@{three}", "--check", "--diff")
    assert check.rc == 0, check.output[-3000:]
    assert check.changed > 0
    # the diff: release_prepare's, of the new instance's drop-in in the api's release
    diff = re.split(r"\+\+\+ after: api \S+: /etc/systemd/system/pakashop-api@3\.service\.d/port\.conf",
                    check.output, maxsplit=1)
    assert len(diff) == 2, check.output[-3000:]
    assert f"+Environment=PORT={instance_port(lab.port('api'), 3)}" in diff[1].split("\n\n", 1)[0]
    assert all(f"{name:12} api              would deploy" in check.output for name in api_hosts)
    # check mode changed nothing: current, ledgers, env files, units, drop-ins, processes
    assert {name: host_state(name) for name in api_hosts} == before
    assert lab.lock("staging") is None

    up = lab.playbook("deploy.yml", "-l", "staging", "-e", f"@{three}")
    assert up.rc == 0, up.output[-3000:]
    for name in api_hosts:
        assert lab.host(name).service("pakashop-api@3").is_running
        assert lab.health(name, instance_port(lab.port("api"), 3))["service"] == "api"
    gateway = next(n for n in lab.names("staging") if "gateway" in lab.by_name(n).services)
    assert lab.health(gateway, lab.port("gateway"))["upstreams"] == 3 * len(api_hosts)

    down = lab.playbook("deploy.yml", "-l", "staging")
    assert down.rc == 0, down.output[-3000:]
    for name in api_hosts:
        host = lab.host(name)
        assert not host.service("pakashop-api@3").is_running
        assert not host.service("pakashop-api@3").is_enabled
        assert host.service("pakashop-api@2").is_running
    assert lab.health(gateway, lab.port("gateway"))["upstreams"] == 2 * len(api_hosts)


def test_units_are_hardened(staging):
    lab = staging
    host = lab.host(lab.names("staging")[1])
    for service in lab.by_name(lab.names("staging")[1]).services:
        verify = host.run(f"systemd-analyze verify pakashop-{service}@1.service")
        assert verify.rc == 0 and verify.stdout == "" and verify.stderr == "", verify.stderr
        score = host.run(f"systemd-analyze security --offline=true "
                         f"/etc/systemd/system/pakashop-{service}@.service --threshold=20")
        assert score.rc == 0, score.stdout[-500:]
