# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release tree of one service on one host, and its ledger.

    <root>/<service>/releases/<release_id>/   one release; `.unfinished` while it is prepared
    <root>/<service>/current -> releases/<id> swapped by renaming a new link over it
    <ledger_dir>/<service>.json               every activation and rollback, newest last

Private to the collection: only its modules import this.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tarfile
import tempfile

UNFINISHED = ".unfinished"
METADATA = ".pakashop-release.json"
# Ledger outcomes.
ACTIVATING = "activating"  # current swapped, health gates not passed yet
ACTIVE = "active"          # passed every gate
FAILED = "failed"          # a gate failed; the host went back to an earlier release
ROLLED_BACK = "rolled_back"  # left on purpose by a rollback


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomically(path, text, mode=0o644):
    """Write a whole file or nothing: temp file in the same folder, fsync, rename."""
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ReleaseTree:
    def __init__(self, root, service, ledger_dir=None):
        self.service = service
        self.base = os.path.join(root, service)
        self.releases = os.path.join(self.base, "releases")
        self.current_link = os.path.join(self.base, "current")
        self.ledger_path = os.path.join(ledger_dir, f"{service}.json") if ledger_dir else None
        self.warnings = []

    # --- the releases folder -------------------------------------------------

    def path(self, release_id):
        return os.path.join(self.releases, release_id)

    def exists(self, release_id):
        return os.path.isdir(self.path(release_id))

    def is_complete(self, release_id):
        return self.exists(release_id) and not os.path.exists(
            os.path.join(self.path(release_id), UNFINISHED))

    def release_ids(self):
        if not os.path.isdir(self.releases):
            return []
        return sorted(n for n in os.listdir(self.releases)
                      if not n.startswith(".") and os.path.isdir(self.path(n)))

    def metadata(self, release_id):
        try:
            with open(os.path.join(self.path(release_id), METADATA)) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def current(self):
        """The release id `current` points at, or None."""
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        return os.path.basename(target.rstrip("/"))

    def prepare(self, release_id, archive, metadata, install=None, configure=None):
        """Unpack `archive` (a path, or a file object of a tar.gz) into a new release dir,
        marked unfinished until done.

        `configure(path)` writes the release's configuration into it, then
        `install(path)` runs inside it, before it is marked complete. A dir that an
        interrupted run left unfinished is removed and prepared again.
        """
        target = self.path(release_id)
        if os.path.exists(target):
            shutil.rmtree(target)
        os.makedirs(target)
        marker = os.path.join(target, UNFINISHED)
        write_atomically(marker, metadata["commit"] + "\n")
        opened = tarfile.open(archive) if isinstance(archive, str) else tarfile.open(fileobj=archive, mode="r:*")
        with opened as tar:
            _safe_extract(tar, target)
        write_atomically(os.path.join(target, "REVISION"), metadata["commit"] + "\n")
        write_atomically(os.path.join(target, METADATA), json.dumps(metadata, indent=2) + "\n")
        if configure:
            configure(target)
        if install:
            install(target)
        os.unlink(marker)
        _fsync_dir(target)

    def swap_current(self, release_id):
        """Point `current` at the release without a moment with no `current`."""
        tmp = os.path.join(self.base, f".current-{os.getpid()}")
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.path.join("releases", release_id), tmp)
        os.rename(tmp, self.current_link)
        _fsync_dir(self.base)

    def remove(self, release_id):
        shutil.rmtree(self.path(release_id))

    # --- the ledger ----------------------------------------------------------

    def read_ledger(self):
        """The ledger's entries; rebuilt from the releases dir if missing or corrupt."""
        try:
            with open(self.ledger_path) as handle:
                data = json.load(handle)
            entries = data["entries"]
            if not isinstance(entries, list):
                raise ValueError("entries is not a list")
            return entries
        except FileNotFoundError:
            if not self.current():  # nothing was ever activated: no history to lose
                return []
            self.warnings.append(f"{self.ledger_path} is missing; rebuilt from {self.releases}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.warnings.append(f"{self.ledger_path} is unreadable ({exc}); "
                                 f"rebuilt from {self.releases}")
        return self.rebuild_ledger()

    def rebuild_ledger(self):
        current = self.current()
        entries = []
        for release_id in self.release_ids():
            meta = self.metadata(release_id)
            if not meta or not self.is_complete(release_id):
                continue
            entries.append({**_entry_fields(meta), "release": release_id,
                            "time": meta.get("created"), "action": "rebuilt",
                            "outcome": ACTIVE if release_id == current else "unknown"})
        if current and entries and entries[-1]["release"] != current:
            entries = [e for e in entries if e["release"] != current] + \
                      [e for e in entries if e["release"] == current]
        return entries

    def write_ledger(self, entries):
        os.makedirs(os.path.dirname(self.ledger_path), mode=0o700, exist_ok=True)
        text = json.dumps({"service": self.service, "entries": entries}, indent=2) + "\n"
        write_atomically(self.ledger_path, text, mode=0o600)


def outcome_of(entries, release_id):
    """The latest outcome the ledger records for a release, or None."""
    for entry in reversed(entries):
        if entry.get("release") == release_id:
            return entry.get("outcome")
    return None


def previous_good(entries, current):
    """The newest release other than `current` whose latest outcome is active."""
    seen = set()
    for entry in reversed(entries):
        release = entry.get("release")
        if release in seen or release == current:
            continue
        seen.add(release)
        if outcome_of(entries, release) == ACTIVE:
            return release
    return None


def rollback_target(entries, current):
    """The release a rollback leaves the service on: `current` itself when the last deploy
    left the service alone (its last ledger entry is a `serve` of `current`), else previous_good."""
    if current and entries and entries[-1].get("release") == current and entries[-1].get("action") == "serve":
        return current
    return previous_good(entries, current)


def activation_entry(entries, current):
    """The ledger entry that put `current` in place (its newest activate or rollback), or None."""
    return next((e for e in reversed(entries) if e.get("release") == current
                 and e.get("action") in ("activate", "rollback")), None)


def listing(tree, entries, current):
    """Every release directory of a tree, oldest first, as the modules report it."""
    return [{"id": r, "commit": tree.metadata(r).get("commit"), "complete": tree.is_complete(r),
             "outcome": outcome_of(entries, r), "current": r == current}
            for r in tree.release_ids()]


def built_from(releases):
    """The commit the current release of a listing (as `listing` returns it) was built from, or None."""
    return next((r.get("commit") for r in releases if r.get("current")), None)


def prune_candidates(release_ids, entries, keep, protected, unfinished):
    """Which releases to delete so that at most `keep` remain.

    Never a protected one (current, previous good). Unfinished releases (left
    by an interrupted run) always go; then failed ones, then the least
    recently activated.
    """
    last_used = {entry.get("release"): index for index, entry in enumerate(entries)}

    def rank(release):
        failed = outcome_of(entries, release) == FAILED
        return (release not in unfinished, not failed, last_used.get(release, -1), release)

    removable = sorted((r for r in release_ids if r not in protected), key=rank)
    doomed = {r for r in removable if r in unfinished}
    excess = len(release_ids) - keep
    for release in removable:
        if len(doomed) >= excess:
            break
        doomed.add(release)
    return sorted(doomed)


def _entry_fields(meta):
    return {key: meta.get(key) for key in ("commit", "branch", "environment")}


def ledger_entry(meta, release, action, outcome, actor=None, ci_run=None, **fields):
    """A ledger entry: the release, what happened to it and its outcome, the commit it was
    built from (and `serves`, the environment's commit it serves, when it was given), the
    branch and environment it was made for, when and by whom. None values are left out."""
    entry = {"release": release, "action": action, "outcome": outcome, "time": utc_now(),
             **_entry_fields(meta), "actor": actor, "ci_run": ci_run, **fields}
    return {key: value for key, value in entry.items() if value is not None}


def serving(entries, release):
    """The environment's commit `release` serves: the newest `serves` the ledger records for it,
    else the commit it was built from."""
    mine = [entry for entry in entries if entry.get("release") == release]
    for entry in reversed(mine):
        if entry.get("serves"):
            return entry["serves"]
    return mine[-1].get("commit") if mine else None


def _safe_extract(tar, target):
    """Extract the archive into `target` after refusing every entry that could leave it.

    Refused: absolute names, `..` in a name, device files and FIFOs, a link whose
    target resolves outside (symbolic links followed, the archive's own included),
    and an entry written through a symbolic link of the archive or at its place.
    Nothing is written when an entry is refused. tarfile's `data` filter, where this
    Python has it, checks again; elsewhere setuid, setgid, sticky and group/other
    write bits are stripped and ownership is not copied, as that filter does.
    """
    root = os.path.realpath(target)
    members = tar.getmembers()
    links = {}
    for member in members:
        if member.issym():
            links.setdefault(_key(member.name), member)
    for member in members:
        problem = _refusal(member, root, links)
        if problem:
            raise ValueError(f"the artifact's entry {member.name!r} {problem}")
    if hasattr(tarfile, "data_filter"):
        tar.extractall(root, filter="data")
        return
    for member in members:
        member.mode &= 0o755
        member.uid, member.gid = os.geteuid(), os.getegid()
    tar.extractall(root, numeric_owner=True)  # nosec: every member was checked above


def _key(name):
    """An entry's name as a path in the release: no empty or `.` parts."""
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def _refusal(member, root, links):
    """Why `member` may not be extracted into `root`, or None."""
    name = member.name
    if name.startswith("/"):
        return "is an absolute path, outside the release"
    if ".." in name.split("/"):
        return "has '..' in its path, which can lead outside the release"
    if member.isdev():  # character or block device, or FIFO
        return f"is {'a FIFO' if member.isfifo() else 'a device file'}, which a release may not hold"
    parts = _key(name).split("/")
    for depth in range(1, len(parts) + 1):
        link = links.get("/".join(parts[:depth]))
        if link is None or link is member:
            continue
        if depth < len(parts):
            return f"is written through the symbolic link {link.name!r}"
        return f"has the name of another entry, the symbolic link to {link.linkname!r}"
    if not _inside(root, _key(name)):
        return f"lands outside the release, through a link already in {root}"
    if member.issym() or member.islnk():
        # tarfile resolves a symbolic link from its folder, a hard link from the root.
        start = os.path.dirname(_key(name)) if member.issym() else ""
        resolved = _resolve(f"{start}/{member.linkname}", links)
        if member.linkname.startswith("/") or resolved is None or not _inside(root, resolved):
            kind = "symbolic" if member.issym() else "hard"
            return f"is a {kind} link to {member.linkname!r}, outside the release"
    return None


def _resolve(path, links):
    """`path` in the release with the archive's symbolic links followed, or None if
    it leaves the release (or goes round in a loop)."""
    done, todo, hops = [], path.split("/"), 0
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return None
            done.pop()
            continue
        done.append(part)
        link = links.get("/".join(done))
        if link is not None:
            hops += 1
            if hops > 40 or link.linkname.startswith("/"):
                return None
            done.pop()
            todo = link.linkname.split("/") + todo
    return "/".join(done)


def _inside(root, path):
    """Whether `path` in the release stays in it on disk (links already there followed)."""
    real = os.path.realpath(os.path.join(root, path))
    return real == root or real.startswith(root + os.sep)
