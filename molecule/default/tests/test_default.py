"""Molecule verify: what the role left on each staging host."""

import json
import os
import subprocess

import pytest

# Over ssh rather than testinfra's ansible backend, which cannot read the
# values ansible-core 2.19 marks as unsafe in `ansible-inventory --list`.
LAB_STATE = os.environ["LAB_STATE"]
SSH_CONFIG = os.path.join(LAB_STATE, "ssh_config")
with open(SSH_CONFIG, "w", encoding="utf-8") as config:
    config.write(f"Host *\n  User root\n  IdentityFile {LAB_STATE}/id_ed25519\n"
                 "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n")
ADDRESSES = {f"{os.environ['LAB_SUBNET']}.{10 + i}": f"stg-{i}" for i in (1, 2)}
testinfra_hosts = [f"ssh://{address}?ssh_config={SSH_CONFIG}" for address in ADDRESSES]
SERVICES = {"stg-1": {"gateway": 1, "api": 2}, "stg-2": {"api": 2, "notifications": 1, "moderation": 1}}
# converge.yml gives the role this service_root, not the default /opt/pakashop.
ROOT = "/srv/pakashop"
PORTS = {"gateway": 8080, "api": 8100, "moderation": 8300}  # notifications is a worker: no port


@pytest.fixture(scope="module")
def head():
    origin = os.path.join(LAB_STATE, "backend.git")
    return subprocess.run(["git", "-C", origin, "rev-parse", "refs/heads/main"],
                          capture_output=True, text=True, check=True).stdout.strip()


def services(host):
    return SERVICES[ADDRESSES[host.backend.get_hostname()]]


def test_every_instance_runs_and_answers_with_the_head_of_main(host, head):
    for service, count in services(host).items():
        for i in range(1, count + 1):
            assert host.service(f"pakashop-{service}@{i}").is_running
            if service in PORTS:
                answer = host.check_output(f"curl -sf http://127.0.0.1:{PORTS[service] + i - 1}/healthz")
                assert json.loads(answer)["version"] == head
            else:  # it told systemd READY=1 and its commit (sd_notify)
                status = host.check_output(f"systemctl show -P StatusText pakashop-{service}@{i}")
                assert f"version={head}" in status.split()


def test_current_is_a_complete_release_recorded_active(host, head):
    for service in services(host):
        current = host.file(f"{ROOT}/{service}/current").linked_to
        assert current.startswith(f"{ROOT}/{service}/releases/")
        assert host.file(f"{current}/REVISION").content_string.strip() == head
        assert not host.file(f"{current}/.unfinished").exists
        ledger = json.loads(host.file(f"/var/lib/pakashop/ledger/{service}.json").content_string)
        assert ledger["entries"][-1]["outcome"] == "active"


def test_units_verify_clean_and_score_at_most_2(host):
    for service in services(host):
        verify = host.run(f"systemd-analyze verify pakashop-{service}@1.service")
        assert (verify.rc, verify.stdout, verify.stderr) == (0, "", "")
        score = host.run("systemd-analyze security --offline=true --threshold=20 "
                         f"/etc/systemd/system/pakashop-{service}@.service")
        assert score.rc == 0, score.stdout[-300:]


def test_env_files_are_root_only(host):
    for service in services(host):
        env = host.file(f"/etc/pakashop/{service}.env")
        assert (env.user, env.group, env.mode) == ("root", "root", 0o600)
