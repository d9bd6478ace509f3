"""Promotion by pull request, against a local HTTP server that plays GitHub's
REST API and checks every request it gets (GitHub itself is not reachable)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOKEN = "ghp_test_token_never_printed"


class FakeGitHub(BaseHTTPRequestHandler):
    """Answers the two calls git_release makes, for repository pakashop/backend."""

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append({"method": self.command, "path": self.path, "body": body,
                                     "headers": dict(self.headers)})
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            return self._answer(401, {"message": "Bad credentials"})
        if self.command == "GET" and self.path.startswith("/repos/pakashop/backend/pulls?"):
            return self._answer(200, self.server.open_pulls)
        if self.command == "POST" and self.path == "/repos/pakashop/backend/pulls":
            return self._answer(201, {"number": 42, "html_url": "https://github.example/pull/42"})
        return self._answer(404, {"message": "Not Found"})

    do_GET = do_POST = _handle


@pytest.fixture
def github():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    server.requests, server.open_pulls, server.token = [], [], TOKEN
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def promote(run, github):
    def by_pull_request(token=TOKEN, **args):
        if token:
            args["github_token"] = token
        return run(operation="promote", github_repository="pakashop/backend",
                   github_api_url=f"http://127.0.0.1:{github.server_port}", **args)
    return by_pull_request


def test_promote_opens_a_pull_request_from_main_to_production(origin, github, promote):
    before = origin.head("production")
    ahead = origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    result = promote()
    assert not result.get("failed"), result["msg"]
    listed, opened = github.requests
    assert (listed["method"], listed["path"]) == (
        "GET", "/repos/pakashop/backend/pulls?state=open&head=pakashop:main&base=production")
    assert (opened["method"], opened["path"]) == ("POST", "/repos/pakashop/backend/pulls")
    assert opened["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert opened["headers"]["Accept"] == "application/vnd.github+json"
    assert opened["body"]["head"] == "main" and opened["body"]["base"] == "production"
    assert ahead in opened["body"]["body"] and "Faster api" in opened["body"]["body"]
    assert result["pull_request"] == {"number": 42, "url": "https://github.example/pull/42",
                                      "created": True}
    assert (result["changed"], result["method"], result["pushed"]) == (True, "pull_request", False)
    assert origin.head("production") == before
    assert TOKEN not in json.dumps(result)


def test_promote_reports_the_pull_request_already_open(origin, github, promote):
    origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    github.open_pulls = [{"number": 7, "html_url": "https://github.example/pull/7"}]
    result = promote()
    assert [r["method"] for r in github.requests] == ["GET"]
    assert result["changed"] is False
    assert result["pull_request"] == {"number": 7, "url": "https://github.example/pull/7",
                                      "created": False}


def test_promote_by_pull_request_in_check_mode_opens_nothing(origin, github, promote):
    origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    result = promote(check_mode=True)
    assert [r["method"] for r in github.requests] == ["GET"]
    assert result["changed"] is True and "would open a pull request" in result["msg"]


def test_a_token_github_refuses_is_one_sentence_and_never_printed(origin, github, promote):
    origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    github.token = "another"
    result = promote()
    assert result["failed"]
    assert result["msg"] == ("GitHub did not accept the token (401 Bad credentials); "
                             "give a valid github_token")
    assert TOKEN not in json.dumps(result)


def test_the_token_may_come_from_the_environment(origin, github, promote, monkeypatch):
    origin.commit("main", {"api/main.py": "2\n"}, "Faster api")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    result = promote(token=None)
    assert result["pull_request"]["created"] is True, result["msg"]


def test_promote_by_pull_request_still_refuses_an_unsynced_hotfix(origin, github, promote):
    origin.commit("main", {"api/main.py": "2\n"}, "Feature")
    origin.commit("production", {"gateway/main.py": "fix\n"}, "Hotfix")
    result = promote()
    assert result["failed"] and "run the hotfix sync" in result["msg"]
    assert github.requests == []


def test_a_pull_request_takes_mains_head_not_an_older_commit(origin, github, promote):
    verified = origin.commit("main", {"api/main.py": "2\n"}, "Verified")
    origin.commit("main", {"api/main.py": "3\n"}, "Merged after the verification")
    result = promote(commit=verified)
    assert result["failed"]
    assert "a pull request from main takes its head" in result["msg"]
    assert github.requests == []
