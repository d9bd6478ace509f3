"""The release procedures on the lab, against its real bare origin: deploy's
refusals and lock, promote, hotfix sync.

The tests run in file order and tell one story on the shared lab: staging is
deployed, refused promotions change nothing, a hotfix is synced and promoted.
They leave every unit running and main containing production, so that later
test files find a usable lab.
"""

import http.server
import json
import subprocess
import threading

import pytest


def releases(lab):
    """Where every service's `current` points, on every host."""
    return {name: lab.host(name).run("readlink -e /opt/pakashop/*/current").stdout
            for name in lab.names("staging") + lab.names("production")}


def health(lab, name, port):
    return json.loads(lab.host(name).check_output(f"curl -sf http://127.0.0.1:{port}/healthz"))


def origin_git(lab, *args):
    return subprocess.run(["git", "-C", lab.origin, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def feature(lab):
    """A commit on feature/x only: on neither main nor production."""
    origin_git(lab, "branch", "feature/x", "main")
    return lab.commit("feature/x", {"docs/checkout.md": "new checkout\n"}, "Feature work")


@pytest.mark.parametrize("limit, refusal", [
    ([], "this run selects every host (no --limit): run it with -l staging or -l production"),
    (["-l", "staging,production"], "this run selects hosts of production and staging: run it"),
    (["-l", "staging", "-e", "release_ref=feature/x"],
     "feature/x is a branch other than main, and only main is deployed here"),
    (["-l", "production", "-e", "release_ref=FEATURE_SHA"], "is not on production: only commits"),
], ids=["no limit", "two environments", "feature branch to staging", "commit not on production"])
def test_deploy_refuses_before_any_change(lab, feature, limit, refusal):
    before = releases(lab)
    run = lab.playbook("deploy.yml", *[a.replace("FEATURE_SHA", feature) for a in limit])
    assert run.rc != 0
    assert refusal in run.said, run.output[-2000:]
    assert run.changed == 0
    assert releases(lab) == before


def test_a_second_deploy_of_an_environment_waits_then_names_the_holder(lab):
    """Two real deploys of staging at once: the second tries again every second
    for its bounded wait, then gives up naming the first; the first finishes
    and releases the lock."""
    # an api change: the first deploy restarts the api, which takes longer than the second's wait
    commit = lab.commit("main", {"docs/release.md": "release 2\n", "api/RELEASE": "release 2\n"}, "Release 2")
    first, second = lab.while_locked("deploy.yml", ["-l", "staging"],
                                     ["-l", "staging", "-e", "deploy_lock_timeout=4",
                                      "-e", "deploy_lock_retry_delay=1"])
    assert second.rc != 0
    assert f"staging is locked by another run, deploy of staging at {commit[:12]} by" in second.said
    assert "and stayed locked for 4 s" in second.said
    assert "run again with -e deploy_lock_break=true" in second.said
    assert second.changed == 0
    assert first.rc == 0, first.output[-3000:]
    assert lab.lock("staging") is None
    summary = first.output
    assert f"staging: commit {commit[:12]} (main)" in summary
    for name in lab.names("staging"):
        for service in lab.by_name(name).services:
            outcome = "deployed" if service == "api" else "unchanged"  # the commit changes only api/
            assert f"{name:12} {service:16} {outcome}" in summary


def test_promote_refuses_while_a_staging_instance_is_down(lab):
    host = lab.names("staging")[-1]
    before = lab.head("production")
    # Down for good: its socket too, which would otherwise start it again on
    # the health check's connection.
    lab.host(host).run("systemctl stop pakashop-api@2.socket pakashop-api@2.service")
    try:
        run = lab.playbook("promote.yml")
    finally:
        lab.host(host).run("systemctl start pakashop-api@2.socket pakashop-api@2.service && "
                           f"timeout 30 sh -c 'until curl -sf http://127.0.0.1:{lab.port('api', 2)}/healthz; do sleep 1; done'")
    assert run.rc != 0
    assert (f"staging is not verified on {lab.head('main')[:12]}, the head of main: "
            f"{host} pakashop-api@2 does not answer its health check;") in run.said
    assert lab.head("production") == before


def test_promote_fast_forwards_production_to_the_verified_head_of_main(lab):
    main = lab.head("main")
    before = lab.head("production")
    checked = lab.playbook("promote.yml", "--check")
    assert checked.rc == 0, checked.output[-3000:]
    assert f"production would move from {before[:12]} to {main[:12]}" in checked.said
    assert lab.head("production") == before  # check mode moves nothing
    run = lab.playbook("promote.yml")
    assert run.rc == 0, run.output[-3000:]
    assert lab.head("production") == main
    assert f"to {main[:12]} by a fast-forward push" in run.said


def test_promote_refuses_while_production_has_an_unsynced_hotfix(lab):
    hotfix = lab.commit("production", {"docs/hotfix.md": "hotfix 1\n"}, "Hotfix 1")
    run = lab.playbook("promote.yml")
    assert run.rc != 0
    assert "production has 1 commit(s) that main lacks" in run.said
    assert "run the hotfix sync (playbooks/hotfix_sync.yml) first" in run.said
    assert lab.head("production") == hotfix


def test_hotfix_sync_fast_forwards_main(lab):
    # main has nothing production lacks: it was promoted before the hotfix.
    before = lab.head("main")
    checked = lab.playbook("hotfix_sync.yml", "--check")
    assert checked.rc == 0, checked.output[-3000:]
    assert "main would catch up with production by a fast-forward" in checked.said
    assert lab.head("main") == before  # check mode pushes nothing
    run = lab.playbook("hotfix_sync.yml")
    assert run.rc == 0, run.output[-3000:]
    assert lab.head("main") == lab.head("production")
    assert "by a fast-forward" in run.said and "Hotfix 1" in run.said


def test_hotfix_sync_when_in_sync_does_nothing(lab):
    main = lab.head("main")
    run = lab.playbook("hotfix_sync.yml")
    assert run.rc == 0, run.output[-3000:]
    assert "main already contains production" in run.said
    assert run.changed == 0
    assert lab.head("main") == main


def test_hotfix_sync_merges_and_deploys_staging(lab):
    feature = lab.commit("main", {"docs/feature.md": "feature 2\n"}, "Feature 2")
    hotfix = lab.commit("production", {"docs/hotfix.md": "hotfix 2\n"}, "Hotfix 2")
    run = lab.playbook("hotfix_sync.yml", "-e", "deploy_staging=true")
    assert run.rc == 0, run.output[-3000:]
    merged = lab.head("main")
    assert origin_git(lab, "rev-list", "--parents", "-n", "1", merged).split()[1:] == [feature, hotfix]
    assert "by a merge" in run.said and "Hotfix 2" in run.said
    assert lab.head("production") == hotfix
    # the merge changes no service's folders: each serves it from the release it has
    for name in lab.names("staging"):
        assert health(lab, name, lab.port("api"))["version"] == lab.built_from("api", merged)
    assert set(lab.serves("api").values()) == {merged}


class RecordingGitHub(http.server.BaseHTTPRequestHandler):
    """GitHub's API as a token check sees it: records each request's
    Authorization header and answers 401, as GitHub does to a bad token."""
    seen = []

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization")))
        data = json.dumps({"message": "Bad credentials"}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_PUT = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def recording_github():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingGitHub)
    RecordingGitHub.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", RecordingGitHub.seen
    server.shutdown()
    server.server_close()


def test_promote_through_github_hands_the_token_to_the_api_call(lab, recording_github):
    url, seen = recording_github
    production = lab.head("production")
    run = lab.playbook("promote.yml", "-e", "github_repository=pakashop/backend",
                       "-e", f"github_api_url={url}", env={"GITHUB_TOKEN": "ghp_integration_secret"})
    assert run.rc != 0
    assert seen, f"no request reached GitHub's API: {run.output[-2000:]}"
    assert all(path.startswith("/repos/pakashop/backend/") for path, auth in seen)
    assert {auth for path, auth in seen} == {"Bearer ghp_integration_secret"}
    assert "GitHub did not accept the token (401 Bad credentials)" in run.said
    assert "ghp_integration_secret" not in run.output
    assert lab.head("production") == production


def test_hotfix_sync_conflict_pushes_nothing_and_names_the_file(lab):
    main = lab.commit("main", {"docs/notes.md": "from main\n"}, "Notes on main")
    lab.commit("production", {"docs/notes.md": "from production\n"}, "Notes on production")
    try:
        run = lab.playbook("hotfix_sync.yml")
        assert run.rc != 0
        assert "conflicts in docs/notes.md; nothing was pushed" in run.said
        assert lab.head("main") == main
    finally:
        # Resolve it by hand, as the message says, so that main contains production again.
        lab.git("fetch", "-q", "origin")
        lab.git("checkout", "-q", "-B", "main", "origin/main")
        lab.git("merge", "-q", "-X", "ours", "-m", "Merge production into main", "origin/production")
        lab.git("push", "-q", "origin", "main")
