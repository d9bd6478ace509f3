"""Real git for git_release and git_release_info: a bare origin with main and production, a clone
to make commits in, and a way to run either module and read what it returns.

For the modules that gate on health (rolling_restart, service_health): real
HTTP health endpoints on loopback, and a way to run such a module through
Ansible's module runner with systemctl, journalctl and runuser stand-ins on PATH
(systemd_stand_in.py, through ../conftest.py's stand_in: a unit can fail,
restart between probes, be disabled or log to its journal; the real units run
on the lab's hosts in the integration tests and Molecule)."""

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.pakashop.infra.plugins.modules import git_release, git_release_info

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


def _runner(module, origin, tmp_path, capsys):
    def run_module(check_mode=False, diff=False, **args):
        args = {"repo": origin.url, "cache_dir": str(tmp_path / "cache"), **args,
                "_ansible_check_mode": check_mode, "_ansible_diff": diff}
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)
    return run_module


@pytest.fixture
def run(origin, tmp_path, capsys):
    """Run git_release against the origin; returns the module's result."""
    return _runner(git_release, origin, tmp_path, capsys)


@pytest.fixture
def run_git_info(origin, tmp_path, capsys):
    """Run git_release_info against the origin; returns the module's result."""
    return _runner(git_release_info, origin, tmp_path, capsys)


CHECKOUT = Path(__file__).resolve().parents[4]
COMMIT = "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed"


class Endpoints:
    """One HTTP server per name, on consecutive ports from `base`; each answers
    /healthz with status[port] (200 at first) and the JSON of answers[port], at
    first as the sample services do: {"service": <name>, "version": `commit`}."""

    commit = COMMIT

    def __init__(self, names):
        self.base = self._free_ports(len(names))
        self.answers = {self.base + i: {"service": name, "version": self.commit}
                        for i, name in enumerate(names)}
        self.status = dict.fromkeys(self.answers, 200)
        self.servers = []
        for port in self.answers:
            server = ThreadingHTTPServer(("127.0.0.1", port), self._handler(port))
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def _handler(self, port):
        answers, status = self.answers, self.status

        class Health(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps(answers[port]).encode()
                self.send_response(status[port])
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        return Health

    @staticmethod
    def _free_ports(count):
        for base in range(41000, 60000, 97):
            sockets = []
            try:
                for port in range(base, base + count):
                    sock = socket.socket()
                    sock.bind(("127.0.0.1", port))
                    sockets.append(sock)
                return base
            except OSError:
                continue
            finally:
                for sock in sockets:
                    sock.close()
        raise RuntimeError("no free ports")

    def close(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def endpoints():
    """api@1 and api@2 on the first two ports, gateway@1 on the third."""
    served = Endpoints(["api", "api", "gateway"])
    yield served
    served.close()


@pytest.fixture
def run_gated(tmp_path, stand_in):
    """Run plugins/modules/<module>.py with these module args; returns its result
    and the systemctl (and runuser) calls. `units` says how systemd sees each unit
    (systemd_stand_in.py)."""
    def run_module(module, args, units=None):
        env = stand_in(units)
        args_file = tmp_path / "args.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = {**env, "PYTHONPATH": str(CHECKOUT / ".cache/collections")}
        result = subprocess.run([sys.executable, CHECKOUT / f"plugins/modules/{module}.py", args_file],
                                capture_output=True, text=True, env=env, check=False)
        return json.loads(result.stdout), (tmp_path / "calls").read_text().splitlines()
    return run_module


# The lab's Vercel/GitHub stand-in (lab/frontend.py), for the modules that read
# the frontend half: a real HTTP server on a free loopback port, told of every
# push to `origin` by origin's post-receive hook, as in the lab.
sys.path.insert(0, str(CHECKOUT))
from lab import frontend as lab_frontend  # noqa: E402  pylint: disable=wrong-import-position

VERCEL_TOKEN = "vercel-unit-token-never-printed"
GITHUB_TOKEN = "github-unit-token-never-printed"
PROJECT = "prj_unit0frontend"
# Fast builds: QUEUED 0.2 s, BUILDING until 0.6 s; a check run completes at 0.4 s.
BUILD_SECONDS = 0.6


class StandIn:
    def __init__(self, server, origin):
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.origin = origin

    def protect(self, branch, contexts):
        """Set (or, with None, remove) the checks branch protection requires on branch."""
        with self.server.stand_in.store.lock:
            self.server.stand_in.store.data["protection"][branch] = contexts


@pytest.fixture
def frontend(origin, tmp_path):
    config = {"endpoint": "http://127.0.0.1:0", "project": PROJECT, "project_name": "pakashop-web",
              "repository": "pakashop/backend", "vercel_token": VERCEL_TOKEN, "github_token": GITHUB_TOKEN,
              "build_seconds": BUILD_SECONDS, "targets": {"main": "staging", "production": "production"},
              "production_branch": "production", "required_checks": ["ci"],
              "origin": origin.url, "store": str(tmp_path / "frontend.json")}
    server = lab_frontend.make_server(config)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stand_in = StandIn(server, origin)
    lab_frontend.install_hook(origin.url, stand_in.url)
    yield stand_in
    server.shutdown()
    server.server_close()


@pytest.fixture
def run_info(capsys):
    """Run one of the collection's modules in this process; returns its result."""
    def run_module(module, check_mode=False, **args):
        args = {**args, "_ansible_check_mode": check_mode}
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)
    return run_module
