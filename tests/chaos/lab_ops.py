"""The chaos run's view of the lab: playbooks, commits on origin, health, hosts,
the deploy lock.

It uses whatever lab LAB_STATE, LAB_BRIDGE, LAB_SUBNET and PAKASHOP_LAB_EC2_URL
name (the demo lab's values when unset), and only that lab's addresses.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import boto3

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT))

from lab.__main__ import STATE, lab_hosts, load_config  # noqa: E402  pylint: disable=wrong-import-position
from lab import hosts  # noqa: E402  pylint: disable=wrong-import-position
from lab.backend import GIT_IDENTITY  # noqa: E402  pylint: disable=wrong-import-position

BIN = Path(sys.executable).parent
GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()
LOCK_TABLE = "pakashop-deploy-locks"  # in the lab's endpoint (inventories/lab/group_vars/all/lab.yml)


def api_with(line):
    """The sample api with one line added after its Service is made."""
    return GOOD_API.replace('service = Service("api")\n', f'service = Service("api")\n{line}\n')


class Lab:
    def __init__(self):
        config = load_config()
        self.hosts = lab_hosts(config)
        self.origin = STATE / "backend.git"
        self.work = STATE / "chaos-work"
        self.dynamodb = boto3.client("dynamodb", endpoint_url=config["ec2"]["endpoint"], region_name="eu-west-1",
                                     aws_access_key_id="lab", aws_secret_access_key="lab")

    def staging(self):
        return [h for h in self.hosts if h.environment == "staging"]

    def host(self, name):
        return next(h for h in self.hosts if h.name == name)

    def gateway_url(self, path="/api/products"):
        host = next(h for h in self.staging() if "gateway" in h.services)
        return f"http://{host.address}:8080{path}"

    def start_playbook(self, playbook, *args, log=None):
        """Start ansible-playbook in its own process group; output to `log`."""
        out = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL  # pylint: disable=consider-using-with
        return subprocess.Popen([str(BIN / "ansible-playbook"), f"playbooks/{playbook}", *args],
                                cwd=CHECKOUT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def deploy(self, *extra, log=None, services="api"):
        """Deploy staging's api (or `services`) and wait; (rc, output)."""
        log = log or STATE / "chaos-deploy.log"
        proc = self.start_playbook("deploy.yml", "-l", "staging", "-e", f"services={services}", *extra, log=log)
        rc = proc.wait()
        return rc, Path(log).read_text(encoding="utf-8")

    @staticmethod
    def wait_for_output(proc, log, text, seconds=300):
        """The monotonic time `text` showed in `log`, or None when proc ended first or time ran out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and proc.poll() is None:
            if text in Path(log).read_text(encoding="utf-8"):
                return time.monotonic()
            time.sleep(0.2)
        return None

    def wait_all(self, procs, logs, text):
        """Wait for every process, watching the deploy lock. ([(rc, seconds from
        when `text` showed in its log until it ended, or None when it never
        showed)], the first lock seen or None)."""
        shown, ended, first_lock = {}, {}, None
        while len(ended) < len(procs):
            first_lock = first_lock or self.lock()
            for i, (proc, log) in enumerate(zip(procs, logs)):
                if i not in shown and text in Path(log).read_text(encoding="utf-8"):
                    shown[i] = time.monotonic()
                if i not in ended and proc.poll() is not None:
                    ended[i] = (proc.returncode, time.monotonic() - shown[i] if i in shown else None)
            time.sleep(0.1)
        return [ended[i] for i in range(len(procs))], first_lock

    def lock(self, environment="staging"):
        """The environment's deploy lock in the lab's table ({holder, run_id, ...}), or None."""
        item = self.dynamodb.get_item(TableName=LOCK_TABLE, Key={"lock_id": {"S": environment}},
                                      ConsistentRead=True).get("Item")
        return {k: next(iter(v.values())) for k, v in item.items()} if item else None

    def lock_left(self, seconds=5, environment="staging"):
        """None once the environment's deploy lock is gone (within `seconds`), else the lock still there."""
        deadline = time.monotonic() + seconds
        lock = self.lock(environment)
        while lock and time.monotonic() < deadline:
            time.sleep(0.2)
            lock = self.lock(environment)
        return lock

    def git(self, *args):
        return subprocess.run(["git", "-C", str(self.work), *args], check=True, capture_output=True,
                              text=True, env={**os.environ, **GIT_IDENTITY}).stdout.strip()

    def head(self, branch="main"):
        return subprocess.run(["git", "-C", str(self.origin), "rev-parse", f"refs/heads/{branch}"],
                              check=True, capture_output=True, text=True).stdout.strip()

    def _checkout_main(self):
        if not self.work.exists():
            subprocess.run(["git", "clone", "-q", str(self.origin), str(self.work)], check=True)
        self.git("fetch", "-q", "origin")
        self.git("checkout", "-q", "-B", "main", "origin/main")

    def sync_backend(self):
        """Bring main of origin up to this checkout's examples/backend (the
        sample services the chaos run was written against)."""
        self._checkout_main()
        subprocess.run(["cp", "-a", f"{CHECKOUT}/examples/backend/.", str(self.work)], check=True)
        self.git("add", "-A")
        if self.git("status", "--porcelain"):
            self.git("commit", "-q", "-m", "chaos: the checkout's sample backend")
            self.git("push", "-q", "origin", "main")

    def commit_api(self, text, message):
        """Commit api/main.py on main of origin and push; returns the sha."""
        self._checkout_main()
        (self.work / "api/main.py").write_text(f"{text}# {message} {time.time()}\n")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD")

    @staticmethod
    def version(address, port):
        try:
            with urlopen(f"http://{address}:{port}/healthz", timeout=2) as answer:
                return json.loads(answer.read()).get("version")
        except (OSError, ValueError):
            return None

    def api_versions(self):
        """{host: [commit of each api instance]} in staging."""
        return {h.name: [self.version(h.address, p) for p in (8100, 8101)]
                for h in self.staging() if "api" in h.services}

    def all_api_on(self, commit):
        return all(v == [commit, commit] for v in self.api_versions().values())

    def stop_host(self, name):
        self.host(name).stop()

    def start_host(self, name, wait=90):
        host = self.host(name)
        public_key = (STATE / "id_ed25519.pub").read_text()
        host.create(hosts.ensure_base_image(), public_key)
        host.start(load_config()["network"]["bridge"])
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if host.system_state() in ("running", "degraded"):
                return True
            time.sleep(1)
        return False
