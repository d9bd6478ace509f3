# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pakashop.infra.deploy_lock: take, release or break an environment's deploy
lock on the controller (plugins/plugin_utils/_lock.py)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import sys
import time
import uuid

from ansible import context
from ansible.plugins.action import ActionBase
from ansible_collections.pakashop.infra.plugins.plugin_utils._lock import (
    LockError, open_lock, process_start, start_keeper)

STORE_SPEC = {
    "type": {"type": "str", "choices": ["dynamodb", "hosts"], "default": "dynamodb"},
    "path": {"type": "str"},
    "table": {"type": "str"},
    "region": {"type": "str"},
    "endpoint_url": {"type": "str"},
    "profile": {"type": "str"},
    "access_key": {"type": "str", "no_log": True},
    "secret_key": {"type": "str", "no_log": True},
    "session_token": {"type": "str", "no_log": True},
}
ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["acquired", "released", "broken"], "default": "acquired"},
    "store": {"type": "dict", "required": True, "options": STORE_SPEC,
              "required_if": [("type", "dynamodb", ("table",))]},
    "what": {"type": "str"},
    "run_id": {"type": "str"},
    "timeout": {"type": "int", "default": 600},
    "retry_delay": {"type": "int", "default": 5},
    "lease": {"type": "int", "default": 60},
}
REQUIRED_IF = [("state", "released", ("run_id",))]


def _age(seconds):
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def describe(lock, now):
    if not lock:  # taken and released again between two reads
        return "a run that has just ended"
    left = lock["expires_at"] - now
    return (f"{lock['holder']} (run {lock['run_id']}); its lease "
            + (f"runs out in {_age(left)}" if left > 0 else f"ran out {_age(-left)} ago"))


def cli_options(cli):
    """The connection options the run was given on its command line (user, key,
    extra vars), so that the hosts store reaches the hosts as the run does."""
    options = []
    if cli.get("remote_user"):
        options += ["-u", cli["remote_user"]]
    if cli.get("private_key_file"):
        options += ["--private-key", os.path.abspath(cli["private_key_file"])]
    for extra in cli.get("extra_vars") or ():
        options += ["-e", "@" + os.path.abspath(extra[1:]) if extra.startswith("@") else extra]
    return options


def transport(task_vars, cli=None):
    """How the hosts store reaches the hosts: the `ansible` beside this
    ansible-playbook, the run's inventory sources, its ansible.cfg and its
    command line's connection options."""
    ansible = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "ansible")
    if not os.access(ansible, os.X_OK):
        ansible = shutil.which("ansible") or "ansible"
    sources = [os.path.abspath(s) if os.path.exists(s) else s
               for s in task_vars.get("ansible_inventory_sources") or []]
    config = task_vars.get("ansible_config_file")
    return {"ansible": ansible, "inventory": sources, "env": {"ANSIBLE_CONFIG": config} if config else {},
            "options": cli_options(context.CLIARGS if cli is None else cli)}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF)
        try:
            hosts = (task_vars.get("groups") or {}).get(args["name"], [])
            self._where = {"hosts": hosts, "transport": transport(task_vars)} if args["store"]["type"] == "hosts" else {}
            lock = open_lock(args["store"], args["name"], **self._where)
            handler = {"acquired": self._acquire, "released": self._release, "broken": self._break}
            return {**result, **handler[args["state"]](lock, args)}
        except LockError as exc:
            return {**result, "failed": True, "reason": "store",
                    "msg": f"The deploy lock of {args['name']} cannot be used: {exc}."}

    def _acquire(self, lock, args):
        name = args["name"]
        run_id = args["run_id"] or uuid.uuid4().hex[:12]
        holder = (f"{args['what'] or 'run of ' + name} by {getpass.getuser()}@{socket.gethostname()} "
                  f"since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        if self._task.check_mode:
            seen = lock.read()
            now = int(time.time())
            free = not seen or seen["expires_at"] <= now
            return {"changed": False, "acquired": False, "run_id": run_id, "lock": seen, **self._per_host(lock),
                    "msg": f"{name} is {'free' if free else 'locked by ' + describe(seen, now)} (check mode: not taken)"}
        # The keeper watches this ansible-playbook (the parent of this worker),
        # read before the lock is taken: a worker whose playbook dies meanwhile
        # is handed to another parent, which the keeper would watch for ever.
        playbook = os.getppid()
        playbook_start = process_start(playbook)
        started = time.monotonic()
        deadline = started + args["timeout"]
        waited_for = None
        while True:
            held, current, taken_over = lock.acquire(run_id, holder, args["lease"])
            if held:
                break
            waited_for = current or waited_for  # None when it was released between two reads
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                now = int(time.time())
                shortfall = getattr(lock, "shortfall", lambda: None)()
                if shortfall and not current:
                    return {"failed": True, "reason": "quorum", "lock": None, **self._per_host(lock),
                            "msg": f"{name} cannot be locked: {shortfall}, for {args['timeout']} s; start the "
                                   f"hosts that are down, or deploy with the DynamoDB store."}
                return {"failed": True, "reason": "held", "lock": current,
                        "msg": (f"{name} is locked by another run, {describe(current, now)}, and stayed locked "
                                f"for {args['timeout']} s: let that run finish; if it is dead, its lock goes "
                                f"when its lease runs out, or run again with -e deploy_lock_break=true.")}
            time.sleep(min(args["retry_delay"], remaining))  # the last try at the deadline
        if process_start(playbook) != playbook_start:  # the run died while it took the lock
            lock.release(run_id)
            return {"failed": True, "reason": "ended", "lock": None,
                    "msg": f"{name} was given back at once: the run ended while it took the lock."}
        keeper = start_keeper({"store": args["store"], "name": name, "run_id": run_id, "lease": args["lease"],
                               "pid": playbook, "pid_start": playbook_start, **self._where})
        waited = round(time.monotonic() - started)
        result = {"changed": False, "acquired": True, "run_id": run_id, "holder": holder, "keeper_pid": keeper,
                  "lock": current, "waited": waited,
                  "msg": f"{name} locked for this run ({holder}, run {run_id})"
                         + (f" after waiting {waited} s for {waited_for['holder']}" if waited_for else "")}
        if taken_over:
            warning = (f"took over the deploy lock of {name} from a run whose lease ran out: "
                       f"{describe(taken_over, int(time.time()))}; that run died or lost its controller, "
                       f"so check what it left (playbooks/status.yml)")
            result["taken_over"] = taken_over
            result["warnings"] = [warning]
        return result

    def _release(self, lock, args):
        if self._task.check_mode:
            return {"changed": False, "released": False, "msg": "check mode: the lock is left as it is"}
        released = lock.release(args["run_id"])
        result = {"changed": False, "released": released,
                  "msg": f"{args['name']} unlocked" if released else f"{args['name']} was not locked by this run"}
        if not released:
            result["warnings"] = [f"the deploy lock of {args['name']} was no longer this run's "
                                  f"(run {args['run_id']}) when it ended: it was broken or its lease ran out"]
        return result

    def _break(self, lock, args):
        if self._task.check_mode:
            seen = lock.read()
            return {"changed": bool(seen), "lock": seen, **self._per_host(lock),
                    "msg": "check mode: the lock is left as it is"}
        seen = lock.break_lock()
        return {"changed": bool(seen), "lock": seen,
                "msg": f"broke the deploy lock of {args['name']}" + (f", held by {seen['holder']}" if seen else ": it was free")}

    @staticmethod
    def _per_host(lock):
        """The hosts store's last answer of each host, for the status."""
        per_host = getattr(lock, "per_host", None)
        return {"hosts": per_host} if per_host is not None else {}
