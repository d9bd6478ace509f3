"""Real git for git_release: a bare origin with main and production, a clone
to make commits in, and a way to run the module and read what it returns."""

import json
import subprocess

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.pakashop.infra.plugins.modules import git_release

IDENTITY = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@pakashop.example",
            "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@pakashop.example"}


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


class Origin:
    """A bare origin (main == production at first) and a work clone that pushes to it."""

    def __init__(self, root):
        self.url = str(root / "backend.git")
        self.work = root / "work"
        git("init", "-q", "--bare", "-b", "main", self.url)
        git("init", "-q", "-b", "main", str(self.work))
        self.write({"api/main.py": "print('api 1')\n", "gateway/main.py": "print('gw 1')\n"})
        self.git("commit", "-q", "-m", "Import the backend")
        self.git("push", "-q", self.url, "main", "main:production")

    def git(self, *args):
        return git(*args, cwd=self.work)

    def write(self, files):
        for path, text in files.items():
            (self.work / path).parent.mkdir(parents=True, exist_ok=True)
            (self.work / path).write_text(text)
        self.git("add", "-A")

    def commit(self, branch, files, message, start=None):
        """Commit files on a branch of origin (created from start) and push it; the sha."""
        self.git("fetch", "-q", self.url, "+refs/heads/*:refs/remotes/origin/*")
        self.git("checkout", "-q", "-B", branch, start or f"origin/{branch}")
        self.write(files)
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", self.url, branch)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch, other, message):
        """Merge origin's other into origin's branch (a merge commit) and push; the sha."""
        self.git("fetch", "-q", self.url, "+refs/heads/*:refs/remotes/origin/*")
        self.git("checkout", "-q", "-B", branch, f"origin/{branch}")
        self.git("merge", "-q", "--no-ff", "-m", message, f"origin/{other}")
        self.git("push", "-q", self.url, branch)
        return self.git("rev-parse", "HEAD")

    def head(self, branch):
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.url)

    def show(self, commit, path):
        return git("show", f"{commit}:{path}", cwd=self.url)

    def parents(self, commit):
        return git("rev-list", "--parents", "-n", "1", commit, cwd=self.url).split()[1:]


@pytest.fixture
def origin(tmp_path, monkeypatch):
    # No global git config or token of the machine's leaks into a test.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    return Origin(tmp_path)


@pytest.fixture
def run(origin, tmp_path, capsys):
    """Run git_release against the origin; returns the module's result."""
    def run_module(check_mode=False, diff=False, **args):
        args = {"repo": origin.url, "cache_dir": str(tmp_path / "cache"), **args,
                "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        with patch_module_args(args), pytest.raises(SystemExit):
            git_release.main()
        return json.loads(capsys.readouterr().out)
    return run_module
