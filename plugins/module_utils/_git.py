# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private helpers of pakashop.infra.git_release and git_release_info: a bare
cache of the backend repository on the controller, read helpers, throwaway
worktrees for merges and reverts, the one push there is, which can only
fast-forward, and the run both modules share (lock, fetch, one-sentence
failures)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.pakashop.infra.plugins.module_utils._github import GitHubError

# Pushing "<sha>:refs/heads/<branch>" without a leading "+" lets the remote
# accept only a fast-forward; this module never builds a refspec with "+".
FIELD = "\x1f"
CACHE_LOCK_WAIT = 120
# The options of every module that runs on the cache (doc fragment git_cache).
CACHE_ARGUMENT_SPEC = {
    "repo": {"type": "str", "required": True},
    "cache_dir": {"type": "path", "default": "~/.cache/pakashop/git"},
}


class GitError(Exception):
    """A failure told in one sentence (and, for merges, the conflicting files)."""

    def __init__(self, message, conflicts=None):
        super().__init__(message)
        self.conflicts = conflicts or []


class Refused(Exception):
    """The operation is not done, for a reason told in one sentence; `reason`
    names it for a caller that words it for its own users, `facts` the values."""

    def __init__(self, message, reason="refused", **facts):
        super().__init__(message)
        self.reason = reason
        self.facts = facts


def short(sha):
    return sha[:12]


def is_pattern(branch):
    return any(c in branch for c in "*?[")


def redact(url):
    """The URL without a password or token in it, fit to print."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def url_secret(url):
    """The password or token a URL carries, if any (for the module's no_log values)."""
    return urlsplit(url).password


def cache_name(url):
    stem = re.sub(r"(\.git)?$", "", os.path.basename(url.rstrip("/")), count=1)
    stem = re.sub(r"[^A-Za-z0-9._-]", "", stem)
    return f"{stem or 'repo'}-{hashlib.sha1(url.encode()).hexdigest()[:12]}.git"


class GitCache:
    """A bare cache of one remote: its branches and tags as the last fetch saw them."""

    def __init__(self, run_command, url, cache_dir):
        self._run = run_command
        self.url = url
        self.path = os.path.join(os.path.expanduser(cache_dir), cache_name(url))
        self._identity = {}

    def set_identity(self, name=None, email=None):
        """Who merge and revert commits are by: as given, else git's own config, else
        pakashop.infra with the controller's user and host."""
        def configured(key):
            return self.git("config", "--get", key, check=False)[1]
        name = name or configured("user.name") or (
            f"pakashop.infra ({os.environ.get('USER', 'unknown')}@{socket.gethostname()})")
        email = email or configured("user.email") or "pakashop.infra@localhost"
        self._identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                          "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}

    def git(self, *args, cwd=None, check=True):
        rc, out, err = self._run(
            ["git", *args], cwd=cwd or self.path,
            environ_update={"GIT_TERMINAL_PROMPT": "0", **self._identity})
        if check and rc != 0:
            raise GitError(f"git {args[0]} failed: {self._words(err or out)}")
        return rc, out.strip(), err.strip()

    def _words(self, text):
        """What git said, as one clause: its first fatal/error line (the most
        specific; hints and advice after it are left out), else its lines
        joined, with the remote's credentials taken out."""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        errors = [re.sub(r"^(fatal|error): ", "", line) for line in lines if re.match(r"(fatal|error): ", line)]
        said = (errors[0] if errors else " ".join(lines) or "no output").rstrip(".")
        return f"git: {said}".replace(self.url, redact(self.url))

    @contextlib.contextmanager
    def locked(self):
        """One run at a time per cache on this controller (fetches and worktrees share it)."""
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        with open(self.path + ".lock", "w", encoding="utf-8") as lock:
            deadline = time.monotonic() + CACHE_LOCK_WAIT
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise GitError(f"another run on this controller has held {self.path} for "
                                       f"{CACHE_LOCK_WAIT} s; try again when it is done")
                    time.sleep(1)
            try:
                yield self
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def fetch(self):
        if not os.path.exists(os.path.join(self.path, "HEAD")):
            self.git("init", "--quiet", "--bare", self.path, cwd=os.path.dirname(self.path))
        # "+" here updates the local cache even when origin's history was
        # rewritten by someone else; it forces nothing on origin.
        rc, out, err = self.git("fetch", "--quiet", "--prune", "--prune-tags", self.url,
                                "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
                                check=False)
        if rc != 0:
            raise GitError(f"cannot fetch {redact(self.url)} ({self._words(err or out)}): check "
                           f"pakashop_repo_url and that this controller can reach it with its key or token.")

    def commit_of(self, ref):
        """The full sha a branch, tag, sha or expression names, or None."""
        rc, out = self.git("rev-parse", "--verify", "--quiet", "--end-of-options",
                           f"{ref}^{{commit}}", check=False)[:2]
        return out if rc == 0 else None

    def commit_of_path(self, commit, path):
        """The git object id of a folder (or file) at a commit, or None when the commit lacks it."""
        rc, out = self.git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{commit}:{path}", check=False)[:2]
        return out if rc == 0 else None

    def head(self, branch):
        return self.commit_of(f"refs/heads/{branch}")

    def has_ref(self, ref):
        return self.git("show-ref", "--verify", "--quiet", ref, check=False)[0] == 0

    def is_ancestor(self, commit, of):
        rc, err = self.git("merge-base", "--is-ancestor", commit, of, check=False)[::2]
        if rc > 1:
            raise GitError(f"git merge-base failed: {self._words(err)}")
        return rc == 0

    def branches_containing(self, commit):
        return self.git("for-each-ref", "--contains", commit, "--format=%(refname:short)",
                        "refs/heads/")[1].splitlines()

    def parents(self, commit):
        return self.git("rev-list", "--parents", "-n", "1", commit)[1].split()[1:]

    def commits(self, *revisions):
        """Commits of a range ("a..b"), newest first: sha, subject, author."""
        log = self.git("log", f"--format=%H{FIELD}%s{FIELD}%an", *revisions, "--")[1]
        return [dict(zip(("sha", "subject", "author"), line.split(FIELD)))
                for line in log.splitlines()]

    def committed_at(self, commit):
        return int(self.git("show", "-s", "--format=%ct", commit)[1])

    def subject(self, commit):
        return self.git("show", "-s", "--format=%s", commit)[1]

    @contextlib.contextmanager
    def worktree(self, commit):
        """A throwaway checkout of a commit (detached), removed afterwards."""
        path = tempfile.mkdtemp(prefix="worktree-", dir=os.path.dirname(self.path))
        try:
            self.git("worktree", "add", "--quiet", "--detach", path, commit)
            yield path
        finally:
            # "--force" discards the throwaway checkout; it has nothing to do with pushing.
            self.git("worktree", "remove", "--force", path, check=False)
            shutil.rmtree(path, ignore_errors=True)
            self.git("worktree", "prune", check=False)

    def commit_on(self, start, doing, *command):
        """Run a git command that commits (merge, revert) on a throwaway checkout of
        start: the new commit, or None when it has nothing to commit. A conflict
        raises GitError with the conflicting files."""
        with self.worktree(start) as work:
            rc, out, err = self.git(*command, cwd=work, check=False)
            if rc == 0:
                return self.git("rev-parse", "HEAD", cwd=work)[1]
            conflicts = self.git("diff", "--name-only", "--diff-filter=U", cwd=work)[1].splitlines()
            if conflicts:
                raise GitError(f"{doing} conflicts in {', '.join(conflicts)}; nothing was "
                               f"pushed: do it by hand in a clone, push, and run again", conflicts)
            if not self.git("status", "--porcelain", cwd=work)[1]:
                return None
            raise GitError(f"{doing} failed: {self._words(err or out)}")

    def push(self, commit, branch):
        """Move a branch of origin to a commit that descends from it; origin refuses anything else."""
        rc, out, err = self.git("push", "--quiet", self.url, f"{commit}:refs/heads/{branch}",
                                check=False)
        if rc != 0:
            raise GitError(f"{redact(self.url)} refused to move {branch} to {commit[:12]} "
                           f"({self._words(err or out)}); if someone pushed to {branch} "
                           f"meanwhile, run again")
        self.git("update-ref", f"refs/heads/{branch}", commit)


def head_of(git, branch):
    sha = git.head(branch)
    if not sha:
        raise Refused(f"{redact(git.url)} has no branch {branch}; check the branch name")
    return sha


def commit_of(git, ref):
    sha = git.commit_of(ref)
    if not sha:
        raise Refused(f"{ref} is not a branch, tag or commit of {redact(git.url)}; "
                      f"give one that exists there")
    return sha


def run_on_cache(module, operation, commits=False):
    """Fetch the cache of module.params' repo under its lock, call
    operation(git), and exit with its result, or fail in one sentence with a
    reason. With `commits`, merges and reverts get the author options' identity."""
    p = module.params
    if url_secret(p["repo"]):
        module.no_log_values.add(url_secret(p["repo"]))
    git = GitCache(module.run_command, p["repo"], p["cache_dir"])
    try:
        with git.locked():
            git.fetch()
            if commits:
                git.set_identity(p["author_name"], p["author_email"])
            result = operation(git)
    except Refused as e:
        module.fail_json(msg=str(e), reason=e.reason, cache=git.path, **e.facts)
    except GitHubError as e:
        module.fail_json(msg=str(e), reason="github", cache=git.path)
    except GitError as e:
        module.fail_json(msg=str(e), reason="conflict" if e.conflicts else "git", conflicts=e.conflicts,
                         cache=git.path)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(cache=git.path, **result)
