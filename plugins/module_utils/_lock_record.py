# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's record of an environment's deploy lock (the hosts store of
pakashop.infra.deploy_lock): a JSON file in a root-only folder, changed by
compare-and-set under an flock and replaced atomically (a temporary file, then
rename), so two runs that reach the host at once see one answer each.

The lease is compared with the controller's clock (`now` comes from it), as
the DynamoDB store does."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile

STATES = ("acquired", "renewed", "released", "broken", "read")


def decide(record, state, run_id=None, holder=None, lease=0, now=0):
    """(granted, the record after): the rule of one host, without the file."""
    mine = bool(record) and record["run_id"] == run_id
    if state == "acquired":
        if record and not mine and record["expires_at"] > now:
            return False, record
        acquired_at = record["acquired_at"] if mine else now
        return True, {"run_id": run_id, "holder": holder, "acquired_at": acquired_at, "expires_at": now + lease}
    if state == "renewed":
        return (True, {**record, "expires_at": now + lease}) if mine else (False, record)
    if state == "released":
        return (True, None) if mine else (False, record)
    if state == "broken":
        return bool(record), None
    return False, record


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a torn file cannot happen (rename); a hand-edited one holds nothing


def _write(folder, path, record):
    if record is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".lock-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def update(folder, name, state, run_id=None, holder=None, lease=0, now=0, write=True):
    """Apply `state` to the record of lock `name` in `folder`: a dict with granted,
    before (the record found), record (the record after) and changed."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, f"{name}.json")
    with open(os.path.join(folder, f"{name}.flock"), "a", encoding="utf-8") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # released when the file closes
        before = _read(path)
        granted, after = decide(before, state, run_id, holder, lease, now)
        changed = after != before
        if changed and write:
            _write(folder, path, after)
    return {"granted": granted, "before": before, "record": after, "changed": changed}
