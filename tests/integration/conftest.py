"""One lab for the whole integration session: real systemd hosts, the local
EC2 endpoint and a bare origin, started fresh and brought down at the end.

The tests use a lab of their own (LAB_STATE, LAB_BRIDGE, LAB_SUBNET,
PAKASHOP_LAB_EC2_URL, PAKASHOP_LAB_FRONTEND_URL; the Makefile sets them) so a demo lab can stay up.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import testinfra
import yaml

CHECKOUT = Path(__file__).resolve().parents[2]
TEST_LAB = {"LAB_STATE": str(CHECKOUT / ".lab-test"), "LAB_BRIDGE": "br-pktest",
            "LAB_SUBNET": "10.213.1", "PAKASHOP_LAB_EC2_URL": "http://127.0.0.1:5056",
            "PAKASHOP_LAB_FRONTEND_URL": "http://127.0.0.1:5066",
            # One preview host, for test_preview.py (lab.yml starts none).
            "LAB_PREVIEW_HOSTS": "1"}
for _key, _value in TEST_LAB.items():
    os.environ.setdefault(_key, _value)
sys.path.insert(0, str(CHECKOUT))

from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder  # noqa: E402

if not any(isinstance(f, _AnsibleCollectionFinder) for f in sys.meta_path):
    _AnsibleCollectionFinder(paths=[str(CHECKOUT / ".cache/collections")])._install()

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instances  # noqa: E402
from lab.__main__ import lab_hosts, load_config  # noqa: E402
from lab.backend import GIT_IDENTITY  # noqa: E402

BIN = Path(sys.executable).parent
LOCK_TABLE = "pakashop-deploy-locks"
# No playbook run of the suite takes this long unless it hangs (a deploy of
# staging from nothing takes about 90 s on this lab).
PLAYBOOK_TIMEOUT = 480
# The lab's catalog, as the playbooks read it.
CATALOG = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())["pakashop_service_catalog"]
STATE = Path(os.environ["LAB_STATE"])
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class Run:
    rc: int
    output: str

    @property
    def recap(self):
        return {m[1]: {"ok": int(m[2]), "changed": int(m[3]), "unreachable": int(m[4]),
                       "failed": int(m[5])} for m in RECAP.finditer(self.output)}

    @property
    def said(self):
        """The output as a person reads it: the YAML callback's line folding
        and doubled quotes undone, white space collapsed."""
        return " ".join(self.output.replace("''", "'").split())

    @property
    def changed(self):
        return sum(h["changed"] for h in self.recap.values())


class Lab:
    def __init__(self):
        self.hosts = lab_hosts(load_config())
        self.origin = STATE / "backend.git"
        self.key = STATE / "id_ed25519"
        self._work = STATE / "backend-work"

    def names(self, environment):
        return [h.name for h in self.hosts if h.environment == environment]

    def by_name(self, name):
        return next(h for h in self.hosts if h.name == name)

    def host(self, name):
        """A testinfra host over ssh."""
        return testinfra.get_host(
            f"ssh://root@{self.by_name(name).address}", ssh_identity_file=str(self.key),
            ssh_extra_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                           "-o LogLevel=ERROR")

    def playbook(self, playbook, *args, env=None, timeout=PLAYBOOK_TIMEOUT):
        """Run a playbook; a run past `timeout` seconds fails the test, naming it."""
        command = [BIN / "ansible-playbook", f"playbooks/{playbook}", *args]
        try:
            result = subprocess.run(command, cwd=CHECKOUT, capture_output=True, text=True,
                                    env={**os.environ, **(env or {})}, check=False, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            said = ((exc.stdout or b"") + (exc.stderr or b"")).decode(errors="replace")
            pytest.fail(f"ansible-playbook {playbook} {' '.join(args)} ran past {timeout} s; "
                        f"its output ended with:\n{said[-2000:]}")
        return Run(result.returncode, result.stdout + result.stderr)

    @staticmethod
    def dynamodb():
        return boto3.client("dynamodb", endpoint_url=os.environ["PAKASHOP_LAB_EC2_URL"], region_name="eu-west-1",
                            aws_access_key_id="lab", aws_secret_access_key="lab")

    def lock(self, environment="staging"):
        """The environment's deploy lock in the lab's DynamoDB table, or None."""
        item = self.dynamodb().get_item(TableName=LOCK_TABLE, Key={"lock_id": {"S": environment}},
                                        ConsistentRead=True).get("Item")
        return {k: next(iter(v.values())) for k, v in item.items()} if item else None

    def leave_lock(self, environment, holder, run_id, expires_at):
        """A lock as a run that died would leave it."""
        self.dynamodb().put_item(TableName=LOCK_TABLE, Item={
            "lock_id": {"S": environment}, "run_id": {"S": run_id}, "holder": {"S": holder},
            "acquired_at": {"N": str(int(expires_at) - 60)}, "expires_at": {"N": str(int(expires_at))}})

    def wait_for_lock(self, environment, present, seconds):
        """True once the lock is there (present) or gone (not present) within `seconds`."""
        deadline = time.monotonic() + seconds
        while (self.lock(environment) is not None) != present:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def while_locked(self, playbook, first, second):
        """Runs playbook with the args `first`; once it holds the staging deploy
        lock, runs it again with `second`. Returns (first run, second run)."""
        runs = []
        thread = threading.Thread(target=lambda: runs.append(self.playbook(playbook, *first)))
        thread.start()
        deadline = time.monotonic() + 300
        while self.lock("staging") is None and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        later = self.playbook(playbook, *second)
        thread.join()
        return runs[0], later

    def git(self, *args):
        return subprocess.run(["git", "-C", self._work, *args], check=True, capture_output=True,
                              text=True, env={**os.environ, **GIT_IDENTITY}).stdout.strip()

    def ledger(self, name, service):
        text = self.host(name).file(f"/var/lib/pakashop/ledger/{service}.json").content_string
        return json.loads(text)["entries"]

    def health(self, name, port):
        """The health answer of the instance on `port` of a host, or None."""
        answer = self.host(name).run(f"curl -sf --max-time 2 http://127.0.0.1:{port}/healthz")
        return json.loads(answer.stdout) if answer.rc == 0 else None

    @staticmethod
    def port(service, instance=1):
        """The port of an instance of a service, from the catalog."""
        return instances(CATALOG, service)[instance - 1]["port"]

    def serving(self, service, environment="staging"):
        """{host: [version of each instance]} for a service on an environment's hosts."""
        ports = [i["port"] for i in instances(CATALOG, service)]
        return {name: [(self.health(name, p) or {}).get("version") for p in ports]
                for name in self.names(environment) if service in self.by_name(name).services}

    def head(self, branch):
        return subprocess.run(["git", "-C", self.origin, "rev-parse", f"refs/heads/{branch}"],
                              check=True, capture_output=True, text=True).stdout.strip()

    def commit(self, branch, files, message, base=None):
        """Commit files ({path: text}) on a branch of origin and push; returns the sha.
        A branch that origin does not have yet starts from `base`."""
        if not self._work.exists():
            subprocess.run(["git", "clone", "-q", self.origin, self._work], check=True)
        self.git("fetch", "-q", "origin")
        self.git("checkout", "-q", "-B", branch, f"origin/{base or branch}")
        for path, text in files.items():
            target = self._work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", branch)
        return self.git("rev-parse", "HEAD")


def _lab(*command):
    subprocess.run([sys.executable, "-m", "lab", *command], cwd=CHECKOUT, check=True)


@pytest.fixture(scope="session")
def staging(lab):
    """The lab with staging deployed at the head of main."""
    run = lab.playbook("deploy.yml", "-l", "staging")
    assert run.rc == 0, run.output[-3000:]
    return lab


@pytest.fixture(scope="session")
def lab():
    _lab("down")
    shutil.rmtree(STATE, ignore_errors=True)
    _lab("up")
    try:
        yield Lab()
    finally:
        if not os.environ.get("PAKASHOP_KEEP_LAB"):
            _lab("down")
