"""The lab's stand-in of Vercel's and GitHub's REST APIs: one stdlib HTTP
server on loopback, driven by the pushes to the lab's backend repository.

Its post-receive hook tells it of every push (POST /_lab/push), as Vercel's
and GitHub's integrations would hear of it: a deployment of the pushed commit
(target staging for main, production for production, preview for any other
branch) that is QUEUED, then BUILDING, then READY a few seconds later, and a
check run `ci` that turns green. A commit message with [frontend-fail] ends
its deployments in ERROR; one with [ci-fail] fails its check run. States are
computed from the time a thing was created, so no timer runs and a restarted
server (state in frontend.json) goes on where it was.

It answers the calls the collection makes, in the documented shapes:
  Vercel  GET /v6/deployments (projectId, target, sha, branch, state, limit), GET /v13/deployments/{id}
  GitHub  GET /repos/{o}/{r}/commits/{ref}/status, GET .../commits/{ref}/check-runs,
          GET .../branches/{b}/protection/required_status_checks,
          GET|POST .../pulls, GET .../pulls/{n}, PUT .../pulls/{n}/merge
each behind its bearer token (401 without it). /_lab/... is the lab's own.

  python -m lab.frontend CONFIG.json     serve (lab/__main__.py starts it)
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from lab.util import Daemon, log

ZERO = "0" * 40
GITHUB_IDENTITY = {"GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com",
                   "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
HOOK = """#!/usr/bin/env python3
# The lab's stand-in of Vercel's and GitHub's integrations hears of each push
# here (lab/frontend.py). A push never fails because of it.
import json, sys, urllib.request
updates = [line.split() for line in sys.stdin if line.strip()]
request = urllib.request.Request({url!r} + "/_lab/push", method="POST",
                                 data=json.dumps({{"updates": updates}}).encode(),
                                 headers={{"Content-Type": "application/json"}})
try:
    urllib.request.urlopen(request, timeout=10).read()
except OSError as e:
    print(f"lab: the Vercel/GitHub stand-in did not hear of this push ({{e}})", file=sys.stderr)
"""


def install_hook(origin, url):
    """(Re)write the origin's post-receive hook for the stand-in at url."""
    hook = Path(origin) / "hooks" / "post-receive"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(HOOK.format(url=url))
    hook.chmod(0o755)


# --- the server -------------------------------------------------------------

class Store:
    """What the stand-in knows, kept in a JSON file; every access under one lock."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}
        for key, empty in (("deployments", []), ("check_runs", []), ("pulls", []),
                           ("protection", None)):
            self.data.setdefault(key, empty)

    def save(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)


class StandIn:
    def __init__(self, config):
        self.config = config
        self.origin = config["origin"]
        self.store = Store(config["store"])
        if self.store.data["protection"] is None:
            self.store.data["protection"] = {config["production_branch"]: config["required_checks"]}
        self.build = float(config["build_seconds"])

    # git

    def git(self, *args, env=None):
        return subprocess.run(["git", "-C", self.origin, *args], capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, check=False)

    def resolve(self, ref):
        answer = self.git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
        return answer.stdout.strip() if answer.returncode == 0 else None

    # what a push starts

    def target(self, branch):
        return self.config["targets"].get(branch, "preview")

    def on_push(self, updates):
        with self.store.lock:
            for old, new, ref in updates:
                if new == ZERO or not ref.startswith("refs/heads/"):
                    continue
                branch = ref[len("refs/heads/"):]
                message = self.git("log", "-1", "--format=%B", new).stdout
                now = time.time()
                uid = "dpl_" + secrets.token_hex(12)
                self.store.data["deployments"].append({
                    "uid": uid, "sha": new, "branch": branch, "target": self.target(branch),
                    "message": message.splitlines()[0] if message else "", "created": now,
                    "fail": "[frontend-fail]" in message})
                if not any(r["sha"] == new for r in self.store.data["check_runs"]):
                    self.store.data["check_runs"].append({
                        "id": len(self.store.data["check_runs"]) + 1, "sha": new, "name": "ci",
                        "created": now, "fail": "[ci-fail]" in message})
            self.store.save()

    # states, from the time a thing was created

    def deployment_state(self, d, now):
        elapsed = now - d["created"]
        if elapsed < self.build / 3:
            return "QUEUED"
        if elapsed < self.build:
            return "BUILDING"
        return "ERROR" if d["fail"] else "READY"

    def vercel_deployment(self, d, now, version):
        state = self.deployment_state(d, now)
        name = self.config["project_name"]
        body = {
            "name": name, "url": f"{name}-{d['uid'][4:13]}-pakashop.vercel.app",
            "target": None if d["target"] == "preview" else d["target"],
            "createdAt": int(d["created"] * 1000), "projectId": self.config["project"],
            "readyState": state, "source": "git",
            "inspectorUrl": f"https://vercel.com/pakashop/{name}/{d['uid'][4:]}",
            "meta": {"githubCommitSha": d["sha"], "githubCommitRef": d["branch"],
                     "githubCommitMessage": d["message"], "githubCommitOrg": self.owner(),
                     "githubCommitRepo": self.config["repository"].split("/")[1]}}
        if version == "v6":
            body.update(uid=d["uid"], state=state, created=body["createdAt"])
            if state in ("BUILDING", "READY", "ERROR"):
                body["buildingAt"] = int((d["created"] + self.build / 3) * 1000)
            if state == "READY":
                body["ready"] = int((d["created"] + self.build) * 1000)
        else:
            body.update(id=d["uid"], status=state, alias=[])
        return body

    def owner(self):
        return self.config["repository"].split("/")[0]

    def check_run(self, r, now):
        elapsed = now - r["created"]
        status = "queued" if elapsed < self.build / 6 else "in_progress" if elapsed < self.build * 2 / 3 \
            else "completed"
        started = r["created"] + self.build / 6
        return {
            "id": r["id"], "name": r["name"], "head_sha": r["sha"], "status": status,
            "conclusion": None if status != "completed" else "failure" if r["fail"] else "success",
            "started_at": _iso(started) if status != "queued" else None,
            "completed_at": _iso(r["created"] + self.build * 2 / 3) if status == "completed" else None,
            "html_url": f"https://github.com/{self.config['repository']}/runs/{r['id']}",
            "details_url": f"https://github.com/{self.config['repository']}/actions/runs/{r['id']}",
            "app": {"slug": "github-actions", "name": "GitHub Actions"}}

    def checks_of(self, sha, now):
        return [self.check_run(r, now) for r in self.store.data["check_runs"] if r["sha"] == sha]


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class Handler(BaseHTTPRequestHandler):
    server_version = "pakashop-lab-frontend/1"

    def log_message(self, fmt, *args):
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {self.command} {urlparse(self.path).path} "
                         f"{args[1] if len(args) > 1 else ''}\n")

    @property
    def lab(self):
        return self.server.stand_in

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length)) if length else {}
        except ValueError:
            return None

    def authorized(self, token):
        given = self.headers.get("Authorization", "")
        return given in (f"Bearer {token}", f"token {token}")

    def handle_any(self):
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path.rstrip("/")
        try:
            if path.startswith("/_lab/"):
                return self.lab_control(path, self.body())
            if path.startswith("/v6/") or path.startswith("/v13/"):
                if not self.authorized(self.lab.config["vercel_token"]):
                    return self.answer(401 if "Authorization" not in self.headers else 403, {"error": {
                        "code": "forbidden", "message": "The request is missing an authentication token"
                        if "Authorization" not in self.headers else "Not authorized"}})
                return self.vercel(path, query)
            if path.startswith("/repos/"):
                if "Authorization" not in self.headers:
                    return self.answer(401, {"message": "Requires authentication"})
                if not self.authorized(self.lab.config["github_token"]):
                    return self.answer(401, {"message": "Bad credentials"})
                return self.github(path, query)
            return self.answer(404, {"message": "Not Found"})
        except BrokenPipeError:
            return None

    do_GET = do_POST = do_PUT = handle_any

    # the lab's own

    def lab_control(self, path, body):
        if path == "/_lab/health":
            return self.answer(200, {"ok": True})
        if path == "/_lab/push" and self.command == "POST":
            self.lab.on_push(body.get("updates", []))
            return self.answer(200, {"ok": True})
        if path == "/_lab/protection" and self.command == "POST":
            with self.lab.store.lock:
                self.lab.store.data["protection"][body["branch"]] = body.get("contexts")
                self.lab.store.save()
            return self.answer(200, {"ok": True})
        return self.answer(404, {"message": "Not Found"})

    # Vercel

    def vercel(self, path, query):
        now = time.time()
        with self.lab.store.lock:
            found = list(self.lab.store.data["deployments"])
        if self.command != "GET":
            return self.answer(405, {"error": {"code": "method_not_allowed", "message": "Method not allowed"}})
        if path == "/v6/deployments":
            project = query.get("projectId")
            if project and project not in (self.lab.config["project"], self.lab.config["project_name"]):
                return self.answer(404, {"error": {"code": "not_found", "message": "Project not found"}})
            states = set(query["state"].split(",")) if query.get("state") else None
            chosen = [d for d in reversed(found)
                      if (not query.get("target") or d["target"] == query["target"])
                      and (not query.get("sha") or d["sha"] == query["sha"])
                      and (not query.get("branch") or d["branch"] == query["branch"])
                      and (not states or self.lab.deployment_state(d, now) in states)]
            limit = int(query.get("limit") or 20)
            page = [self.lab.vercel_deployment(d, now, "v6") for d in chosen[:limit]]
            return self.answer(200, {"deployments": page, "pagination": {
                "count": len(page), "next": None, "prev": None}})
        match = re.fullmatch(r"/v13/deployments/([^/]+)", path)
        if match:
            wanted = match[1]
            for d in found:
                if wanted in (d["uid"], self.lab.vercel_deployment(d, now, "v13")["url"]):
                    return self.answer(200, self.lab.vercel_deployment(d, now, "v13"))
            return self.answer(404, {"error": {"code": "not_found", "message": "Deployment not found"}})
        return self.answer(404, {"error": {"code": "not_found", "message": "Not found"}})

    # GitHub

    def github(self, path, query):
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not match or f"{match[1]}/{match[2]}".lower() != self.lab.config["repository"].lower():
            return self.answer(404, {"message": "Not Found"})
        rest, now = match[3] or "", time.time()
        commit = re.fullmatch(r"/commits/(.+)/(status|check-runs)", rest)
        if commit and self.command == "GET":
            sha = self.lab.resolve(commit[1])
            if not sha:
                return self.answer(422, {"message": f"No commit found for SHA: {commit[1]}"})
            if commit[2] == "status":
                return self.answer(200, {"state": "pending", "statuses": [], "sha": sha, "total_count": 0})
            runs = sorted(self.lab.checks_of(sha, now), key=lambda r: -r["id"])
            per_page, page = int(query.get("per_page") or 30), int(query.get("page") or 1)
            return self.answer(200, {"total_count": len(runs),
                                     "check_runs": runs[(page - 1) * per_page:page * per_page]})
        protection = re.fullmatch(r"/branches/(.+)/protection/required_status_checks", rest)
        if protection and self.command == "GET":
            contexts = self.lab.store.data["protection"].get(protection[1])
            if contexts is None:
                return self.answer(404, {"message": "Branch not protected"})
            return self.answer(200, {"strict": False, "contexts": contexts,
                                     "checks": [{"context": c, "app_id": None} for c in contexts]})
        if rest == "/pulls":
            return self.pulls(query)
        pull = re.fullmatch(r"/pulls/(\d+)(/merge)?", rest)
        if pull:
            return self.pull(int(pull[1]), bool(pull[2]))
        return self.answer(404, {"message": "Not Found"})

    def pull_json(self, p):
        repository = self.lab.config["repository"]
        head_sha = p.get("merged_head") or self.lab.resolve(f"refs/heads/{p['head']}")
        return {"number": p["number"], "state": p["state"], "title": p["title"], "body": p["body"],
                "html_url": f"https://github.com/{repository}/pull/{p['number']}",
                "merged": p["merged"], "merge_commit_sha": p.get("merge_commit_sha"),
                "head": {"ref": p["head"], "sha": head_sha, "label": f"{self.lab.owner()}:{p['head']}"},
                "base": {"ref": p["base"], "sha": self.lab.resolve(f"refs/heads/{p['base']}")}}

    def pulls(self, query):
        data = self.lab.store.data
        if self.command == "GET":
            head = query.get("head", "")
            head = head.split(":", 1)[1] if ":" in head else head
            found = [self.pull_json(p) for p in data["pulls"]
                     if p["state"] == query.get("state", "open")
                     and (not head or p["head"] == head) and p["base"] == query.get("base", p["base"])]
            return self.answer(200, found)
        if self.command != "POST":
            return self.answer(404, {"message": "Not Found"})
        body = self.body() or {}
        for key in ("head", "base", "title"):
            if not body.get(key):
                return self.answer(422, {"message": "Validation Failed",
                                         "errors": [{"field": key, "code": "missing_field"}]})
        head = body["head"].split(":", 1)[-1]
        if not self.lab.resolve(f"refs/heads/{head}") or not self.lab.resolve(f"refs/heads/{body['base']}"):
            return self.answer(422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]})
        with self.lab.store.lock:
            if any(p["state"] == "open" and p["head"] == head and p["base"] == body["base"] for p in data["pulls"]):
                return self.answer(422, {"message": "Validation Failed", "errors": [
                    {"message": f"A pull request already exists for {self.lab.owner()}:{head}."}]})
            pull = {"number": len(data["pulls"]) + 1, "head": head, "base": body["base"],
                    "title": body["title"], "body": body.get("body") or "", "state": "open", "merged": False}
            data["pulls"].append(pull)
            self.lab.store.save()
        return self.answer(201, self.pull_json(pull))

    def pull(self, number, merge):
        data = self.lab.store.data
        pull = next((p for p in data["pulls"] if p["number"] == number), None)
        if not pull:
            return self.answer(404, {"message": "Not Found"})
        if not merge and self.command == "GET":
            return self.answer(200, self.pull_json(pull))
        if not (merge and self.command == "PUT"):
            return self.answer(404, {"message": "Not Found"})
        body = self.body() or {}
        with self.lab.store.lock:
            if pull["state"] != "open":
                return self.answer(405, {"message": "Pull Request is not mergeable"})
            head_sha = self.lab.resolve(f"refs/heads/{pull['head']}")
            base_sha = self.lab.resolve(f"refs/heads/{pull['base']}")
            if body.get("sha") and body["sha"] != head_sha:
                return self.answer(409, {"message": "Head branch was modified. Review and try the merge again."})
            if body.get("merge_method", "merge") != "merge":
                return self.answer(422, {"message": "The lab's stand-in merges with merge_method merge only."})
            required = data["protection"].get(pull["base"]) or []
            runs = {r["name"]: r for r in self.lab.checks_of(head_sha, time.time())}
            for context in required:
                run = runs.get(context)
                if not run or run["status"] != "completed":
                    return self.answer(405, {"message": f'Required status check "{context}" is expected.'})
                if run["conclusion"] != "success":
                    return self.answer(405, {"message": f'Required status check "{context}" is failing.'})
            tree = self.lab.git("merge-tree", "--write-tree", base_sha, head_sha)
            if tree.returncode:
                return self.answer(405, {"message": "Pull Request is not mergeable"})
            title = body.get("commit_title") or f"Merge pull request #{number} from {self.lab.owner()}/{pull['head']}"
            merged = self.lab.git("commit-tree", tree.stdout.split()[0], "-p", base_sha, "-p", head_sha,
                                  "-m", title, env=GITHUB_IDENTITY).stdout.strip()
            moved = self.lab.git("update-ref", f"refs/heads/{pull['base']}", merged, base_sha)
            if moved.returncode:
                return self.answer(409, {"message": "Base branch was modified. Review and try the merge again."})
            pull.update(state="closed", merged=True, merge_commit_sha=merged, merged_head=head_sha)
            self.lab.store.save()
        # update-ref runs no hook: tell the integrations of the push as GitHub would.
        self.lab.on_push([(base_sha, merged, f"refs/heads/{pull['base']}")])
        return self.answer(200, {"sha": merged, "merged": True, "message": "Pull Request successfully merged"})


def make_server(config):
    """The server, bound (port 0 in the endpoint takes a free one), not yet serving."""
    url = urlparse(config["endpoint"])
    server = ThreadingHTTPServer((url.hostname, url.port or 0), Handler)
    server.daemon_threads = True
    server.stand_in = StandIn(config)
    return server


def serve(config):
    server = make_server(config)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log(f"Vercel/GitHub stand-in on {config['endpoint']}")
    server.serve_forever()


# --- the process, for lab/__main__.py and the tests ----------------------------

class FrontendEndpoint(Daemon):
    """The stand-in as a process of its own (PID in <state>/frontend.pid)."""

    what = "Vercel/GitHub stand-in"

    def __init__(self, state_dir, config):
        self.state_dir = Path(state_dir)
        self.url = config["endpoint"]
        self.config = {**config, "origin": str(self.state_dir / "backend.git"),
                       "store": str(self.state_dir / "frontend.json")}
        super().__init__(self.state_dir / "frontend.pid", self.state_dir / "frontend.log",
                         self.url + "/_lab/health")

    def start(self):
        config_file = self.state_dir / "frontend-config.json"
        config_file.write_text(json.dumps(self.config, indent=1))
        self.launch([sys.executable, "-m", "lab.frontend", config_file], 15,
                    cwd=Path(__file__).resolve().parent.parent)


if __name__ == "__main__":
    serve(json.loads(Path(sys.argv[1]).read_text()))
