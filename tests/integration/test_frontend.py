"""The frontend half of a release on the lab (issue 15): the lab's origin
tells the Vercel/GitHub stand-in of every push, and promote, status, verify
and hotfix sync read it.

The tests run in file order on the shared lab: a commit whose frontend build
fails and one whose CI fails are each deployed to staging and refused by
promote with production unmoved; a green commit is promoted, and status shows
both halves READY; then a promotion by pull request is merged on the stand-in
and the hotfix sync brings main up to production and deploys staging. They
leave staging healthy on the head of main, and main containing production.
"""

import json

import pytest


def deploy_staging(lab):
    run = lab.playbook("deploy.yml", "-l", "staging")
    assert run.rc == 0, run.output[-3000:]


@pytest.fixture(scope="module")
def synced(staging):
    """Staging deployed, and production containing main's head (nothing to
    promote but what these tests push)."""
    return staging


@pytest.mark.parametrize("marker, refusal", [
    ("[frontend-fail]", "the Vercel deployment of {short} for staging is ERROR (dpl_"),
    ("[ci-fail]", "the GitHub checks of {short} on pakashop/backend failed (ci failure)"),
], ids=["frontend build fails", "ci fails"])
def test_promote_refuses_a_commit_whose_frontend_half_is_not_green(synced, marker, refusal):
    lab = synced
    before = lab.head("production")
    commit = lab.commit("main", {"docs/frontend.md": f"{marker}\n"}, f"Frontend change {marker}")
    deploy_staging(lab)  # the backend half is verified: only the frontend half is missing
    run = lab.playbook("promote.yml", "-e", "promote_wait=30")
    assert run.rc != 0
    assert f"production was not moved to {commit[:12]}: " + refusal.format(short=commit[:7]) in run.said, \
        run.output[-3000:]
    assert "fix it on main and promote the fixed commit." in run.said
    assert lab.head("production") == before
    assert "lab-github-token" not in run.output and "lab-vercel-token" not in run.output


def test_a_green_commit_is_promoted_and_its_production_frontend_watched(synced):
    lab = synced
    commit = lab.commit("main", {"docs/frontend.md": "green\n"}, "Frontend change, green")
    deploy_staging(lab)
    run = lab.playbook("promote.yml", "-e", "promote_wait=60")
    assert run.rc == 0, run.output[-3000:]
    assert lab.head("production") == commit
    assert (f"the GitHub checks of {commit[:7]} on pakashop/backend are green (required by branch "
            f"protection: ci); the Vercel deployment of {commit[:7]} for staging is READY at https://") in run.said
    assert f"to {commit[:12]} by a fast-forward push" in run.said
    assert f"The Vercel deployment of {commit[:7]} for production is READY at https://" in run.said


def test_status_shows_both_halves_ready_for_both_environments(synced, tmp_path):
    lab = synced
    run = lab.playbook("status.yml", "-e", f"status_output_dir={tmp_path}")
    assert run.rc == 0, run.output[-3000:]
    report = json.loads((tmp_path / "status.json").read_text())
    frontend = {f["environment"]: f for f in report["frontend"]}
    main = lab.head("main")
    for environment in ("staging", "production"):
        assert (frontend[environment]["state"], frontend[environment]["commit"]) == ("READY", main), frontend
        assert frontend[environment]["url"].startswith("https://")
    assert not [d for d in report["drift"] if d.startswith("staging: the frontend")]
    assert "Frontend (Vercel):" in run.output and "**Frontend (Vercel)**" in (tmp_path / "status.md").read_text()


def test_verify_checks_the_frontend_when_asked(synced):
    run = synced.playbook("verify.yml", "-l", "staging", "-e", "verify_frontend=true")
    assert run.rc == 0, run.output[-3000:]
    assert "Every checked service is healthy, and every checked frontend is READY on the commit its backend runs." \
        in run.said


def test_without_a_frontend_configured_it_says_so_once_and_promotes_as_before(synced):
    run = synced.playbook("promote.yml", "-e", "pakashop_vercel_project=", "-e", "pakashop_github_repository=",
                          env={"GITHUB_TOKEN": "", "VERCEL_TOKEN": ""})
    assert run.rc == 0, run.output[-3000:]
    assert run.said.count("The frontend was not checked: the Vercel deployments (no pakashop_vercel_project "
                          "or no VERCEL_TOKEN) and the GitHub checks") == 1
    assert "nothing to promote" in run.said


def test_a_pull_request_is_opened_merged_when_green_and_synced_back(synced):
    lab = synced
    before = lab.head("production")
    commit = lab.commit("main", {"docs/frontend.md": "by pull request\n"}, "Frontend change, by PR")
    deploy_staging(lab)
    run = lab.playbook("promote.yml", "-e", "github_repository=pakashop/backend", "-e", "github_merge=true",
                       "-e", "promote_wait=60")
    assert run.rc == 0, run.output[-3000:]
    merged = lab.head("production")
    assert merged != commit and merged != before
    assert "opened pull request #" in run.said and f"a merge commit of {commit[:12]}" in run.said
    assert f"The Vercel deployment of {merged[:7]} for production is READY at https://" in run.said
    # main takes the merge commit back (a fast-forward), which deploys the staging frontend and backend.
    sync = lab.playbook("hotfix_sync.yml", "-e", "deploy_staging=true")
    assert sync.rc == 0, sync.output[-3000:]
    assert lab.head("main") == merged
    assert f"The Vercel deployment of {merged[:7]} for staging is READY at https://" in sync.said
