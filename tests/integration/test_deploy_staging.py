"""The walking skeleton: deploy staging on the lab, check the hosts."""

import json
import re

import pytest

PRODUCTION_UNTOUCHED = "nothing under /opt/pakashop on production"


@pytest.fixture(scope="module")
def deployed(lab):
    refused = lab.playbook("deploy.yml")
    first = lab.playbook("deploy.yml", "-l", "staging")
    assert first.rc == 0, first.output[-3000:]
    return {"refused": refused, "first": first, "commit": lab.head("main")}


def test_no_limit_is_refused_before_any_change(lab, deployed):
    refused = deployed["refused"]
    assert refused.rc != 0
    assert "run it with -l staging or -l production" in refused.output
    assert refused.changed == 0


def test_every_unit_of_every_staging_service_is_active(lab, deployed):
    for name in lab.names("staging"):
        host = lab.host(name)
        for service in lab.by_name(name).services:
            instances = 2 if service == "api" else 1
            for i in range(1, instances + 1):
                unit = host.service(f"pakashop-{service}@{i}")
                assert unit.is_running, f"{name}: pakashop-{service}@{i} is not running"
                assert unit.is_enabled, f"{name}: pakashop-{service}@{i} is not enabled"


def test_current_points_at_each_service_s_release_of_the_head_of_main(lab, deployed):
    """A release is per service and named by its content: <UTC time>-<sha7>-<8 hex> of the
    commit that last changed its folders; the ledger says it serves the head of main."""
    for name in lab.names("staging"):
        host = lab.host(name)
        for service in lab.by_name(name).services:
            built_from = lab.built_from(service, deployed["commit"])
            current = host.file(f"/opt/pakashop/{service}/current")
            assert current.is_symlink
            assert current.linked_to.startswith(f"/opt/pakashop/{service}/releases/")
            assert re.fullmatch(rf"\d{{8}}T\d{{6}}Z-{built_from[:7]}-[0-9a-f]{{8}}", current.linked_to.split("/")[-1])
            revision = host.file(f"{current.linked_to}/REVISION").content_string.strip()
            assert revision == built_from
    for service in ("gateway", "api", "notifications", "moderation"):
        assert set(lab.serves(service).values()) == {deployed["commit"]}, service


def test_env_files_are_private_to_root(lab, deployed):
    host = lab.host(lab.names("staging")[0])
    env = host.file("/etc/pakashop/gateway.env")
    assert (env.user, env.group, env.mode) == ("root", "root", 0o600)


def test_services_run_as_their_own_unprivileged_user(lab, deployed):
    host = lab.host(lab.names("staging")[0])
    pid = host.check_output("systemctl show -p MainPID --value pakashop-api@1")
    assert host.check_output(f"ps -o user= -p {pid}") == "pakashop-api"


def test_gateway_serves_its_release_of_the_head_of_main_and_reaches_the_api(lab, deployed):
    gateway = next(n for n in lab.names("staging") if "gateway" in lab.by_name(n).services)
    host = lab.host(gateway)
    health = json.loads(host.check_output(f"curl -sf http://127.0.0.1:{lab.port('gateway')}/healthz"))
    assert health["version"] == lab.built_from("gateway", deployed["commit"])
    api_hosts = [n for n in lab.names("staging") if "api" in lab.by_name(n).services]
    assert health["upstreams"] == len(lab.serving("api")[api_hosts[0]]) * len(api_hosts)
    products = json.loads(host.check_output(f"curl -sf http://127.0.0.1:{lab.port('gateway')}/api/products"))
    assert products["served_by"] == lab.built_from("api", deployed["commit"])


def test_production_is_not_touched(lab, deployed):
    for name in lab.names("production"):
        assert not lab.host(name).file("/opt/pakashop").exists, PRODUCTION_UNTOUCHED


def test_a_second_deploy_changes_nothing(lab, deployed):
    pids = {n: lab.host(n).run("systemctl show -p MainPID --value 'pakashop-*@*.service'").stdout
            for n in lab.names("staging")}
    again = lab.playbook("deploy.yml", "-l", "staging")
    assert again.rc == 0, again.output[-3000:]
    assert again.changed == 0, again.recap
    # ... because the drift check found nothing to do, not because every task
    # of the role ran and happened to change nothing: nothing was sent, prepared or activated
    assert "TASK [pakashop.infra.service : Compare the host with its services' releases]" in again.output
    for task in ("Send and prepare the releases the host lacks", "Activate the releases behind the gates, going back"):
        assert task_results(again.output, task) == {"skipping"}, task
    for name in lab.names("staging"):
        for service in lab.by_name(name).services:
            assert f"{name:12} {service:16} unchanged" in again.output
    assert {n: lab.host(n).run("systemctl show -p MainPID --value 'pakashop-*@*.service'").stdout
            for n in lab.names("staging")} == pids  # nothing restarted


def task_results(output, task):
    """How the task ended on each host ({"ok", "changed", "skipping", ...}), from the run's output;
    empty when the task did not run at all."""
    ends = set()
    for block in output.split("\nTASK [")[1:]:
        if block.startswith(f"pakashop.infra.service : {task}"):
            ends |= {line.split(":")[0] for line in block.splitlines()[1:]
                     if line.split(":")[0] in ("ok", "changed", "skipping", "fatal", "failed")}
    return ends


def host_running(lab, service, last=False):
    names = [n for n in lab.names("staging") if service in lab.by_name(n).services]
    return lab.host(names[-1] if last else names[0])


def test_a_deploy_puts_back_what_was_changed_by_hand_and_says_what(lab, deployed):
    """A redeploy skips a service only when nothing differs: each change by
    hand is found (and said with -v) and undone."""
    # one api host's env file, the other api host's instance 2 (there the api has nothing else to do)
    api, stopped = host_running(lab, "api", last=True), host_running(lab, "api")
    gateway = host_running(lab, "gateway")
    moderation, notifications = host_running(lab, "moderation"), host_running(lab, "notifications")
    api.run("echo EDITED_BY_HAND=1 >> /etc/pakashop/api.env")
    gateway.run("chmod 0755 /opt/pakashop/gateway/shared")
    stopped.run("systemctl stop pakashop-api@2")
    moderation.run("systemctl disable pakashop-moderation.target")
    notifications.run("touch /etc/systemd/system/pakashop-notifications@.service")

    run = lab.playbook("deploy.yml", "-l", "staging", "-v")
    assert run.rc == 0, run.output[-3000:]
    for sentence in ("/etc/pakashop/api.env is not the release's env file",
                     "/opt/pakashop/gateway/shared has mode 0755, not 0750",
                     "pakashop-api@2.service: gate 'unit' failed",
                     "pakashop-moderation.target is disabled, not enabled",
                     "pakashop-notifications@1.service changed on disk since systemd loaded it"):
        assert sentence in run.said, sentence
    assert "EDITED_BY_HAND" not in api.file("/etc/pakashop/api.env").content_string
    assert gateway.file("/opt/pakashop/gateway/shared").mode == 0o750
    assert stopped.service("pakashop-api@2").is_running
    assert moderation.service("pakashop-moderation.target").is_enabled
    assert notifications.run(
        "systemctl show -P NeedDaemonReload pakashop-notifications@1.service").stdout.strip() == "no"

    again = lab.playbook("deploy.yml", "-l", "staging")
    assert again.changed == 0, again.recap
