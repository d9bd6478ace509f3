"""The lab as tests drive it: playbook runs under ansible-runner, its hosts over
ssh, what their instances serve, the origin's commits, the deploy lock.

One driver for the integration tests (tests/integration/conftest.py wraps it
in fixtures), chaos (tests/chaos/lab_ops.py) and bench (tests/bench/): no
pytest in it. It drives the lab that LAB_STATE, LAB_BRIDGE, LAB_SUBNET,
PAKASHOP_LAB_EC2_URL and PAKASHOP_LAB_FRONTEND_URL name.

A run's artifacts (ansible-runner writes the run's whole environment into
them) live in a folder of the lab's state, removed once the run is read.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner
import boto3
import testinfra
import yaml
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

from lab.backend import GIT_IDENTITY
from lab.config import CHECKOUT, STATE, lab_hosts, load_config

# The checkout as the collection pakashop.infra, for its catalog model.
if not any(isinstance(f, _AnsibleCollectionFinder) for f in sys.meta_path):
    _AnsibleCollectionFinder(paths=[str(CHECKOUT / ".cache/collections")])._install()
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import entry, instances  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order
from ansible_collections.pakashop.infra.plugins.module_utils._release import serving as ledger_serves  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order

BIN = Path(sys.executable).parent
LOCK_TABLE = "pakashop-deploy-locks"  # in the lab's endpoint (inventories/lab/group_vars/all/lab.yml)
# The lab's catalog, as the playbooks read it, and the folders shipped with every service.
_SERVICES = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())
CATALOG = _SERVICES["pakashop_service_catalog"]
SHARED_SOURCE_PATHS = _SERVICES.get("pakashop_shared_source_paths", [])
# Each run's private data dir while it runs (runs_dir moves it).
RUNS = STATE / "runs"
# ansible-runner's names for the PLAY RECAP's columns.
RECAP_COLUMNS = {"ok": "ok", "changed": "changed", "unreachable": "dark", "failed": "failures",
                 "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
# The events that end a task on a host, each with its duration.
TASK_ENDS = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")


def per_host(stats):
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}}, the
    PLAY RECAP's rows, from ansible-runner's stats ({} for a run without them)."""
    stats = stats or {}
    return {host: {column: stats.get(key, {}).get(host, 0) for column, key in RECAP_COLUMNS.items()}
            for host in stats.get("processed", {})}


def said(output):
    """Output as a person reads it: the YAML callback's line folding and
    doubled quotes undone, white space collapsed."""
    return " ".join(output.replace("''", "'").split())


def timeout_message(command, timeout, output):
    """What a run that ran past its timeout says: the run, and how its output ended."""
    return f"{command} ran past {timeout} s; its output ended with:\n{output[-2000:]}"


class PlaybookTimeout(Exception):
    """A playbook run ran past its timeout (and was killed)."""


@dataclass
class Run:
    """A playbook run that ended: its exit code, its output (stdout and stderr
    as a terminal shows them), ansible-runner's stats (None for a command not
    run by the runner) and status (successful, failed, canceled, timeout), and
    each task's end on a host ({host, task, seconds}), in order."""
    rc: int
    output: str
    stats: dict = None
    status: str = None
    tasks: list = field(default_factory=list)
    recap: dict = field(init=False)

    def __post_init__(self):
        self.recap = per_host(self.stats)

    @property
    def said(self):
        """The output as a person reads it (said())."""
        return said(self.output)

    @property
    def changed(self):
        """The changed tasks over every host."""
        return sum(h["changed"] for h in self.recap.values())

    @property
    def killed(self):
        """It was killed by kill() (SIGKILL to its process group)."""
        return self.status == "canceled"


class PlaybookRun:
    """ansible-playbook playbooks/<playbook> <args> (or an absolute playbook
    path) under ansible-runner, in a thread: text() while it runs, kill()
    (SIGKILL to its process group), wait()."""

    def __init__(self, playbook, *args, env=None, timeout=None, log=None, runs_dir=None):
        self.command = shlex.join(["ansible-playbook", playbook, *args])
        self.timeout = timeout
        self._log = Path(log) if log else None
        if self._log:
            self._log.write_text("", encoding="utf-8")
        self._text, self._tasks, self._kill = [], [], threading.Event()
        (runs_dir or RUNS).mkdir(parents=True, exist_ok=True)
        self._dir = Path(tempfile.mkdtemp(prefix="run-", dir=runs_dir or RUNS))
        envvars = {"ANSIBLE_CONFIG": str(CHECKOUT / "ansible.cfg"),
                   "ANSIBLE_NOCOLOR": "1",  # the runner runs it on a terminal
                   **(env or {})}
        self._thread, self._runner = ansible_runner.run_async(
            private_data_dir=str(self._dir), project_dir=str(CHECKOUT), binary=str(BIN / "ansible-playbook"),
            cmdline=shlex.join([str(Path("playbooks", playbook)), *args]), envvars=envvars, timeout=timeout,
            # the run's memory fact cache, as ansible-playbook's; no env/ files;
            # cancel (kill) looked at twice a second
            fact_cache_type="memory", suppress_env_files=True, quiet=True, settings={"pexpect_timeout": 0.5},
            event_handler=self._event, cancel_callback=self._kill.is_set)

    def _event(self, event):
        if event.get("event") in TASK_ENDS:
            data = event.get("event_data", {})
            # the steps a call reports of itself (release_activate's timings), for the bench's profile
            steps = (data.get("res") or {}).get("timings") if isinstance(data.get("res"), dict) else None
            self._tasks.append({"host": data.get("host"), "task": data.get("task"),
                                "seconds": float(data.get("duration") or 0), "steps": steps or []})
        if event.get("stdout"):
            self._text.append(event["stdout"] + "\n")
            if self._log:
                with open(self._log, "a", encoding="utf-8") as out:
                    out.write(event["stdout"] + "\n")
        return True  # keep it: the runner's stats are read from the events it keeps

    def text(self):
        """The output so far."""
        return "".join(self._text)

    def running(self):
        return self._thread.is_alive()

    def kill(self):
        self._kill.set()

    def wait(self, seconds=None):
        """The Run once it ended; None when it is still running after `seconds`.
        Raises PlaybookTimeout when it ran past its timeout."""
        self._thread.join(seconds)
        if self._thread.is_alive():
            return None
        try:
            with self._runner.stdout as out:
                output = out.read().replace("\r\n", "\n")
            run = Run(self._runner.rc, output, self._runner.stats, self._runner.status, self._tasks)
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
        if run.status == "timeout":
            raise PlaybookTimeout(timeout_message(self.command, self.timeout, output))
        return run


class Lab:
    """The lab's hosts, their playbook runs, what they serve, the origin, the lock."""

    def __init__(self):
        self.config = load_config()
        self.hosts = lab_hosts(self.config)
        self.origin = STATE / "backend.git"
        self.key = STATE / "id_ed25519"
        self._work = STATE / "backend-work"

    # --- hosts ---------------------------------------------------------------

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

    # --- playbook runs -------------------------------------------------------

    @staticmethod
    def start(playbook, *args, env=None, timeout=None, log=None):
        """A PlaybookRun of playbooks/<playbook> started in the background."""
        return PlaybookRun(playbook, *args, env=env, timeout=timeout, log=log)

    def playbook(self, playbook, *args, env=None, timeout=None, log=None):
        """Run a playbook and wait; the Run. Raises PlaybookTimeout past `timeout` s."""
        return self.start(playbook, *args, env=env, timeout=timeout, log=log).wait()

    def ledger(self, name, service):
        """The entries of a service's release ledger on a host."""
        text = self.host(name).file(f"/var/lib/pakashop/ledger/{service}.json").content_string
        return json.loads(text)["entries"]

    # --- what the instances serve --------------------------------------------

    def health(self, name, port):
        """The health answer of the instance on `port` of a host, or None."""
        answer = self.host(name).run(f"curl -sf --max-time 2 http://127.0.0.1:{port}/healthz")
        return json.loads(answer.stdout) if answer.rc == 0 else None

    def status(self, name, unit):
        """What an active notify instance told systemd (its StatusText) as {key: value}
        of its words, or None when the unit is not active."""
        shown = self.host(name).run(f"systemctl show -p ActiveState -p StatusText {unit}").stdout
        values = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        if values.get("ActiveState") != "active":
            return None
        return dict(word.split("=", 1) for word in values.get("StatusText", "").split() if "=" in word)

    @staticmethod
    def port(service, instance=1):
        """The port of an instance of a service, from the catalog (None for a worker)."""
        return instances(CATALOG, service)[instance - 1]["port"]

    def version(self, name, instance):
        """The version an instance of the catalog's instances() reports as its readiness
        says: in its health answer (http) or in its sd_notify status (notify)."""
        readiness = entry(CATALOG, instance["service"])["readiness"]
        if readiness == "http":
            return (self.health(name, instance["port"]) or {}).get("version")
        if readiness == "notify":
            return (self.status(name, f"{instance['unit']}.service") or {}).get("version")
        raise ValueError(f"the lab cannot read the version of a {readiness} service")

    def serving(self, service, environment="staging"):
        """{host: [version of each instance]} for a service on the environment's hosts."""
        return {name: [self.version(name, i) for i in instances(CATALOG, service)]
                for name in self.names(environment) if service in self.by_name(name).services}

    def serves(self, service, environment="staging", root="/opt/pakashop"):
        """{host: the environment's commit that the service's current release serves}, as the
        host's ledger records it: the newest `serves` of that release, else the commit it was
        built from. A release that a later commit left alone serves that commit too, while its
        health and REVISION still name the commit it was built from."""
        found = {}
        for name in self.names(environment):
            if service not in self.by_name(name).services:
                continue
            current = os.path.basename(self.host(name).file(f"{root}/{service}/current").linked_to or "")
            found[name] = ledger_serves(self.ledger(name, service), current)
        return found

    def pids(self, service, environment="staging"):
        """{host: [MainPID of each instance]} of a service on the environment's hosts."""
        units = " ".join(f"pakashop-{service}@{i['index']}.service" for i in instances(CATALOG, service))
        return {name: self.host(name).run(f"systemctl show -p MainPID --value {units}").stdout.split()
                for name in self.names(environment) if service in self.by_name(name).services}

    # --- the origin ----------------------------------------------------------

    def built_from(self, service, ref="main"):
        """The commit a release of the service made at `ref` is built from (its REVISION and the
        version its health reports): the last one that changed its folders."""
        paths = [CATALOG[service]["source_path"], *SHARED_SOURCE_PATHS]
        return subprocess.run(["git", "-C", self.origin, "log", "-1", "--format=%H", ref, "--", *paths],
                              check=True, capture_output=True, text=True).stdout.strip()

    def git(self, *args):
        return subprocess.run(["git", "-C", self._work, *args], check=True, capture_output=True,
                              text=True, env={**os.environ, **GIT_IDENTITY}).stdout.strip()

    def head(self, branch="main"):
        return subprocess.run(["git", "-C", self.origin, "rev-parse", f"refs/heads/{branch}"],
                              check=True, capture_output=True, text=True).stdout.strip()

    def checkout(self, branch, base=None):
        """The work clone of origin at the branch's head on origin; a branch
        that origin does not have yet starts from `base`."""
        if not self._work.exists():
            subprocess.run(["git", "clone", "-q", self.origin, self._work], check=True)
        self.git("fetch", "-q", "origin")
        self.git("checkout", "-q", "-B", branch, f"origin/{base or branch}")

    def push(self, branch, message):
        """Commit everything of the work clone on the branch and push; returns the sha."""
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", branch)
        return self.git("rev-parse", "HEAD")

    def commit(self, branch, files, message, base=None):
        """Commit files ({path: text}) on a branch of origin and push; returns the sha."""
        self.checkout(branch, base)
        for path, text in files.items():
            target = self._work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return self.push(branch, message)

    # --- the deploy lock -----------------------------------------------------

    def dynamodb(self):
        return boto3.client("dynamodb", endpoint_url=self.config["ec2"]["endpoint"], region_name="eu-west-1",
                            aws_access_key_id="lab", aws_secret_access_key="lab")

    def lock(self, environment="staging"):
        """The environment's deploy lock in the lab's DynamoDB table ({holder, run_id, ...}), or None."""
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

