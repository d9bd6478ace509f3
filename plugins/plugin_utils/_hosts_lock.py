# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An environment's deploy lock on its own hosts, for environments without AWS.

Each host keeps a record (pakashop.infra.deploy_lock_record); the lock is held
when a strict majority of ALL the environment's hosts in the inventory granted
it to one run id, so with three or more hosts one may be down, and two runners
cannot both hold it: two majorities of one set of hosts always share a host,
whose compare-and-set lets only one of them in. A run that got less than a
majority gives back what it took and tries again later.

Transport: each step is one `ansible <hosts> -i <the run's inventory> -m
pakashop.infra.deploy_lock_record -t <a temporary folder>` (the built-in tree
callback writes each host's result there as JSON). So the records are
reached with Ansible's own connection settings (inventory, group_vars,
ansible.cfg, the run's -u, --private-key and -e), from the action as well as from the keeper, which outlives the
ansible-playbook it watches and so cannot use its connections; and the
playbooks keep one task each for the lock while the rule lives here, tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections import Counter

from ansible_collections.pakashop.infra.plugins.plugin_utils._lock import LockError

MODULE = "pakashop.infra.deploy_lock_record"


class AdHoc:
    """Runs the record module on some hosts; {host: its result, or None when it
    did not answer}, and the reasons of those that did not."""

    def __init__(self, transport, timeout=60):
        self.transport = transport
        self.timeout = timeout

    def __call__(self, hosts, args):
        command = [self.transport["ansible"], ",".join(hosts), "-m", MODULE, "-a", json.dumps(args), "-T", "10"]
        for source in self.transport.get("inventory") or []:
            command += ["-i", source]
        command += self.transport.get("options") or []
        env = {**os.environ, **(self.transport.get("env") or {})}
        with tempfile.TemporaryDirectory(prefix="pakashop-lock-") as tree:
            # The tree callback (built in) leaves each host's result as a JSON file. stdin
            # from nothing: ansible refuses the non-blocking stdin a playbook's worker has.
            try:
                subprocess.run([*command, "-t", tree], stdin=subprocess.DEVNULL, capture_output=True, env=env,
                               timeout=self.timeout, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise LockError(f"the environment's hosts cannot be asked for their lock records ({exc})") from None
            answers = {host: _answer(os.path.join(tree, host)) for host in hosts}
        results, missed = {}, {}
        for host, answer in answers.items():
            if answer and not answer.get("failed") and not answer.get("unreachable") and "granted" in answer:
                results[host] = answer
            else:
                results[host] = None
                missed[host] = " ".join(str((answer or {}).get("msg", "no answer")).split())[:200]
        return results, missed


def _answer(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


class HostsLock:
    def __init__(self, store, name, hosts, transport=None, run=None):
        if not hosts:
            raise LockError(f"the inventory has no hosts in group {name}, which the hosts store locks on")
        self.name = name
        self.hosts = list(hosts)
        self.path = store.get("path") or "/var/lib/pakashop/locks"
        self.run = run or AdHoc(transport)
        self.missed = {}  # the hosts that did not answer the last step, and why
        self.per_host = None  # what each host said to the last read

    @property
    def majority(self):
        return len(self.hosts) // 2 + 1

    def _step(self, state, hosts=None, **args):
        results, self.missed = self.run(hosts or self.hosts, {"name": self.name, "state": state, "path": self.path,
                                                              "now": int(args.pop("now", None) or time.time()),
                                                              **args})
        return results

    @staticmethod
    def _most_held(records):
        """The record most hosts hold (by run id), or None."""
        records = [r for r in records if r]
        if not records:
            return None
        run_id = Counter(r["run_id"] for r in records).most_common(1)[0][0]
        return next(r for r in records if r["run_id"] == run_id)

    def read(self):
        """The record most hosts hold; per_host then has each host's: its record,
        None when free, or 'unreachable: why'."""
        results = self._step("read")
        self.per_host = {h: (r["record"] if r else f"unreachable: {self.missed[h]}") for h, r in results.items()}
        return self._most_held(r["record"] for r in results.values() if r)

    def acquire(self, run_id, holder, lease, now=None):
        """(held, the lock as it is, the expired lock taken over or None), as DynamoDBLock."""
        results = self._step("acquired", run_id=run_id, holder=holder, lease=lease, now=now)
        granted = [h for h, r in results.items() if r and r["granted"]]
        if len(granted) >= self.majority:
            taken_over = self._most_held(r["before"] for r in results.values()
                                         if r and r["granted"] and r["before"] and r["before"]["run_id"] != run_id)
            return True, results[granted[0]]["record"], taken_over
        if granted:  # less than a majority: give back what was taken, so another run can get one
            missed = self.missed
            self._step("released", hosts=granted, run_id=run_id)
            self.missed = missed  # why the majority was missed
        refused = [r["record"] for r in results.values() if r and not r["granted"]]
        return False, self._most_held(refused), None

    def renew(self, run_id, lease, now=None):
        results = self._step("renewed", run_id=run_id, lease=lease, now=now)
        renewed = sum(1 for r in results.values() if r and r["granted"])
        refused = sum(1 for r in results.values() if r and not r["granted"])
        if renewed >= self.majority:
            return True
        if refused > len(self.hosts) - self.majority:
            return False  # no longer this run's: released, broken, or taken over
        raise LockError(self.shortfall())

    def release(self, run_id):
        return any(r and r["granted"] for r in self._step("released", run_id=run_id).values())

    def break_lock(self):
        return self._most_held(r["before"] for r in self._step("broken").values() if r)

    def shortfall(self):
        """Why a majority was out of reach, or None."""
        answered = len(self.hosts) - len(self.missed)
        if answered >= self.majority:
            return None
        missed = "; ".join(f"{h}: {why}" for h, why in sorted(self.missed.items()))
        return (f"the lock needs {self.majority} of the {len(self.hosts)} hosts of {self.name} and only "
                f"{answered} answered ({missed})")
