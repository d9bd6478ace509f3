# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An environment's deploy lock in a DynamoDB table, with a lease.

One item per environment: who holds it (holder text and run id) and until
when (expires_at, epoch seconds). Taking it is a conditional write, as
Terraform's backends lock their state: it succeeds only when there is no item,
or when the item seen expired and is still the one seen. The holder's keeper
(a small process started with the lock, see `keep`) renews the lease while the
run's ansible-playbook lives and deletes the lock the moment it is gone, however
it ended (a failure, Ctrl-C, SIGTERM, SIGKILL). A lost controller cannot, and
its lease runs out instead: the next run takes over with a warning.

Runs on the controller only. Executed as a script, it is the keeper: the
settings come on standard input, so no credential shows in a process list.
"""

from __future__ import annotations

import json
import os
import sys
import time

try:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False

    class BotoCoreError(Exception):
        pass

    class ClientError(Exception):
        pass

CONDITION_FAILED = "ConditionalCheckFailedException"


class LockError(Exception):
    pass


def client(store):
    """A DynamoDB client for `store` (table, region, endpoint_url, credentials)."""
    if not HAS_BOTO3:
        raise LockError("the deploy lock needs boto3 on the controller: pip install boto3")
    session = boto3.session.Session(
        profile_name=store.get("profile") or None,
        aws_access_key_id=store.get("access_key") or None,
        aws_secret_access_key=store.get("secret_key") or None,
        aws_session_token=store.get("session_token") or None,
        region_name=store.get("region") or None)
    return session.client("dynamodb", endpoint_url=store.get("endpoint_url") or None)


def _item(record):
    return {"lock_id": record["lock_id"]["S"], "run_id": record["run_id"]["S"],
            "holder": record["holder"]["S"], "acquired_at": int(record["acquired_at"]["N"]),
            "expires_at": int(record["expires_at"]["N"])}


class DynamoDBLock:
    def __init__(self, store, name, dynamodb=None):
        self.table = store["table"]
        self.name = name
        self.store = store
        self.dynamodb = dynamodb or client(store)

    def _call(self, operation, **kwargs):
        try:
            return getattr(self.dynamodb, operation)(TableName=self.table, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == CONDITION_FAILED:
                return None
            if code == "ResourceNotFoundException":
                raise LockError(f"the lock table {self.table} does not exist in {self.store.get('region')}: "
                                f"create it (partition key lock_id, type S), or set pakashop_lock_table "
                                f"to the table the deploys share") from None
            message = exc.response.get("Error", {}).get("Message", "") or code
            raise LockError(f"the lock table {self.table} refused {operation} ({code}: {message.rstrip('.')}); "
                            f"check the controller's AWS credentials and their permission on the table") from None
        except BotoCoreError as exc:
            raise LockError(f"the lock table {self.table} cannot be reached ({exc}); check "
                            f"pakashop_lock_region, pakashop_lock_endpoint_url and the network") from None

    def read(self):
        answer = self._call("get_item", Key={"lock_id": {"S": self.name}}, ConsistentRead=True)
        return _item(answer["Item"]) if answer and "Item" in answer else None

    def acquire(self, run_id, holder, lease, now=None):
        """(held, the lock as it is, the expired lock taken over or None)."""
        now = int(now if now is not None else time.time())
        seen = self.read()
        if seen and seen["run_id"] == run_id:
            return self.renew(run_id, lease, now), seen, None
        if seen and seen["expires_at"] > now:
            return False, seen, None
        mine = {"lock_id": {"S": self.name}, "run_id": {"S": run_id}, "holder": {"S": holder},
                "acquired_at": {"N": str(now)}, "expires_at": {"N": str(now + lease)}}
        if seen:  # expired: take it over only if it is still the one seen
            done = self._call("put_item", Item=mine,
                              ConditionExpression="run_id = :run AND expires_at = :expires",
                              ExpressionAttributeValues={":run": {"S": seen["run_id"]},
                                                         ":expires": {"N": str(seen["expires_at"])}})
        else:
            done = self._call("put_item", Item=mine, ConditionExpression="attribute_not_exists(lock_id)")
        if done is None:  # another run was quicker
            return False, self.read(), None
        return True, _item(mine), seen

    def renew(self, run_id, lease, now=None):
        now = int(now if now is not None else time.time())
        done = self._call("update_item", Key={"lock_id": {"S": self.name}},
                          UpdateExpression="SET expires_at = :expires",
                          ConditionExpression="run_id = :run",
                          ExpressionAttributeValues={":run": {"S": run_id},
                                                     ":expires": {"N": str(now + lease)}})
        return done is not None

    def release(self, run_id):
        """True when this run's lock was deleted, False when it was not this run's."""
        done = self._call("delete_item", Key={"lock_id": {"S": self.name}},
                          ConditionExpression="run_id = :run",
                          ExpressionAttributeValues={":run": {"S": run_id}})
        return done is not None

    def break_lock(self):
        """Delete whatever holds the lock; the lock as it was, or None."""
        seen = self.read()
        if seen:
            self._call("delete_item", Key={"lock_id": {"S": self.name}})
        return seen


def open_lock(store, name, hosts=None, transport=None):
    """The lock of `name` in the store that pakashop_lock_store chose."""
    if store.get("type") == "hosts":
        from ansible_collections.pakashop.infra.plugins.plugin_utils._hosts_lock import (  # pylint: disable=import-outside-toplevel
            HostsLock)  # imports this module: not at its top
        return HostsLock(store, name, hosts, transport)
    return DynamoDBLock(store, name)


# --- the keeper ---------------------------------------------------------------

def process_start(pid):
    """The start time of a process (clock ticks since boot), None when it is gone:
    with the pid it tells the run's process from a later one given the same pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def keep(settings, lock=None, sleep=time.sleep):
    """Renew the lease every lease/3 s while the run's process lives; delete the
    lock once it is gone. Ends when the lock is no longer the run's."""
    lock = lock or open_lock(settings["store"], settings["name"], settings.get("hosts"), settings.get("transport"))
    pid, started, lease = settings["pid"], settings["pid_start"], settings["lease"]
    renewed = time.monotonic()
    while True:
        if process_start(pid) != started:
            try:
                lock.release(settings["run_id"])
            except LockError:
                pass  # the lease runs out instead
            return "released"
        if time.monotonic() - renewed >= lease / 3:
            try:
                if not lock.renew(settings["run_id"], lease):
                    return "gone"  # released by the run, or broken
                renewed = time.monotonic()
            except LockError:
                pass  # try again; the lease covers a few misses
        sleep(settings.get("poll", 0.5))


def start_keeper(settings):
    """Start the keeper as a process of its own session (Ctrl-C at the terminal
    does not reach it); returns its pid."""
    import subprocess  # pylint: disable=import-outside-toplevel
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, os.path.abspath(__file__)], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    proc.stdin.write(json.dumps(settings).encode())
    proc.stdin.close()
    return proc.pid


if __name__ == "__main__":
    # Run as a file: import the collection's copy of this module (the hosts store
    # imports it too, so there is one LockError), from the collections folder
    # this file is in (.../ansible_collections/pakashop/infra/plugins/plugin_utils).
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 5)))
    from ansible_collections.pakashop.infra.plugins.plugin_utils._lock import keep as keep_lock
    keep_lock(json.loads(sys.stdin.read()))
