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


# A host's release trees, ledgers, env files and units, for the modules that
# prepare, activate and compare releases (release_activate, service_drift).
# Gates that settle fast: the stand-in's units do not crash late.
FAST = {"interval": 0.05, "settle": 0.2, "timeout": 5}


def unit_files(service, port, instances, env):
    unit = f"pakashop-{service}"
    files = {"env": env, f"units/{unit}@.service": f"[Service]\nExecStart=/bin/true # {env.strip().lower()}\n",
             f"units/{unit}.target": "[Unit]\n", f"units/{unit}@.socket": "[Socket]\n"}
    for i in range(1, instances + 1):
        files[f"units/{unit}@{i}.service.d/port.conf"] = f"[Service]\nEnvironment=PORT={port + i - 1}\n"
        files[f"units/{unit}@{i}.socket.d/port.conf"] = f"[Socket]\nListenStream=0.0.0.0:{port + i - 1}\n"
    return files


class Host:
    """A host's release trees, ledgers, env files and units under tmp_path."""

    def __init__(self, tmp_path):
        self.root, self.ledgers = tmp_path / "opt", tmp_path / "ledger"
        self.etc, self.units = tmp_path / "etc", tmp_path / "units"
        for folder in (self.root, self.ledgers, self.etc, self.units):
            folder.mkdir()

    def release(self, service, release, commit, files=None):
        path = self.root / service / "releases" / release
        path.mkdir(parents=True)
        (path / "REVISION").write_text(commit + "\n")
        metadata = {"commit": commit, "branch": "main", "environment": "staging"}
        (path / ".pakashop-release.json").write_text(json.dumps(metadata))
        for name, text in (files or {}).items():
            (path / ".pakashop" / name).parent.mkdir(parents=True, exist_ok=True)
            (path / ".pakashop" / name).write_text(text)
        return path

    def activate(self, service, release, files):
        """The host as a deploy of `release` leaves it: current, ledger, config installed."""
        (self.root / service / "current").symlink_to(f"releases/{release}")
        self.write_ledger(service, [{"release": release, "action": "confirm", "outcome": "active",
                                     "commit": json.loads((self.root / service / "releases" / release /
                                                           ".pakashop-release.json").read_text())["commit"]}])
        for name, text in files.items():
            target = self.etc / f"{service}.env" if name == "env" else self.units / name[len("units/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def write_ledger(self, service, entries):
        (self.ledgers / f"{service}.json").write_text(json.dumps({"service": service, "entries": entries}))

    def ledger(self, service):
        return json.loads((self.ledgers / f"{service}.json").read_text())["entries"]

    def current(self, service):
        return (self.root / service / "current").readlink().name

    def installed(self, service):
        found = {"env": (self.etc / f"{service}.env").read_text()} if (self.etc / f"{service}.env").exists() else {}
        for path in self.units.rglob("*"):
            if path.is_file() and str(path.relative_to(self.units)).startswith(f"pakashop-{service}"):
                found[f"units/{path.relative_to(self.units)}"] = path.read_text()
        return found

    def args(self, services, **more):
        return {"services": services, "root": str(self.root), "ledger_dir": str(self.ledgers),
                "config_dir": str(self.etc), "unit_dir": str(self.units), **more}


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


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
