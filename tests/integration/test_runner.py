"""CI through ansible-runner, against the lab: the steps of the workflows' job
(.github/workflows/run-playbook.yml) that hand the run its key and variables,
run ansible-runner and write the summary, run by bash exactly as written there.

The only difference from CI: the job's ANSIBLE_INVENTORY (inventories/aws)
is the lab's, and GitHub's own variables (RUNNER_TEMP, GITHUB_ENV, ...) point
into a temporary folder.
"""

import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import PLAYBOOK_TIMEOUT

CHECKOUT = Path(__file__).resolve().parents[2]
WORKFLOW = CHECKOUT / ".github" / "workflows" / "run-playbook.yml"
CATALOG = CHECKOUT / "inventories" / "group_vars" / "all" / "services.yml"
# A secret of the catalog (as the CI's secret store gives it) and a credential
# in the runner's environment (as CI's AWS session credentials are).
SECRET = f"catalog-secret-{uuid.uuid4().hex}"
CREDENTIAL = f"session-credential-{uuid.uuid4().hex}"
# The api's health never reports OK (its health handler raises).
BREAK_HEALTH = ('service = Service("api")\n',
                'service = Service("api")\nService.health = lambda self: 1 / 0  # broken on purpose: runner test\n')
FAILED_GATE = re.compile(r"^- \*\*(?P<host>[\w-]+)\*\* · service \*\*(?P<service>[\w-]+)\*\* · "
                         r"gate \*\*(?P<gate>\w+)\*\* failed", re.M)


def job():
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["run"]


def step(step_id):
    return next(s for s in job()["steps"] if s.get("id") == step_id)


@dataclass
class CiRun:
    ci_run: str
    rc: int
    output: str
    artifacts: Path
    summary: str
    uploaded: list


def github_env(github):
    """What earlier steps added to the job's environment (KEY=value lines)."""
    lines = Path(github["GITHUB_ENV"]).read_text().splitlines()
    return dict(line.partition("=")[::2] for line in lines)


def run_step(step_id, inputs, github):
    """Run a step's script as the runner does (bash -eo pipefail), with its
    env: from inputs (every key the step declares must be given) and GitHub's."""
    declared = step(step_id).get("env", {})
    assert set(declared) <= set(inputs), f"step {step_id} takes {sorted(set(declared) - set(inputs))}"
    # the venv's python and ansible-runner first on PATH, as setup-python's
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, **job()["env"], "ANSIBLE_INVENTORY": "inventories/lab/ec2.yml",
           **{key: inputs[key] for key in declared}, **github}
    env.update(github_env(github))
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(step_id)["run"]],
                          cwd=CHECKOUT, env=env, capture_output=True, text=True, check=False,
                          timeout=PLAYBOOK_TIMEOUT)


def run_like_ci(lab, work, secret_vars, playbook="deploy.yml"):
    """The job's steps for a playbook (deploy.yml) --limit staging, as GitHub runs them."""
    work.mkdir()
    ident = f"test-{uuid.uuid4().hex[:8]}"
    github = {"RUNNER_TEMP": str(work), "GITHUB_ENV": str(work / "github_env"),
              "GITHUB_STEP_SUMMARY": str(work / "step_summary.md"),
              "GITHUB_RUN_ID": ident, "GITHUB_RUN_ATTEMPT": "1",
              # what aws-actions/configure-aws-credentials exports to the job
              "AWS_SESSION_TOKEN": CREDENTIAL}
    Path(github["GITHUB_ENV"]).touch()
    inputs = {"SSH_KEY": lab.key.read_text(), "SECRET_VARS": secret_vars, "EXTRA_VARS": "{}",
              "PLAYBOOK": playbook, "LIMIT": "staging", "TITLE": "Deploy staging", "REPORT": "",
              "RUN_VARS_FILE": str(work / "pakashop" / "run-vars.json"),
              "SECRET_VARS_FILE": str(work / "pakashop" / "secret-vars.yml"),
              "PAKASHOP_CI_RUN": f"https://ci.example/runs/{ident}"}
    handover = run_step("handover", inputs, github)
    assert handover.returncode == 0, handover.stderr
    try:
        run = run_step("runner", inputs, github)
    finally:
        (CHECKOUT / "runner" / "env" / "ssh_key").unlink(missing_ok=True)
    summary = run_step("summary", inputs, github)
    assert summary.returncode == 0, summary.stderr
    runner_ident = github_env(github)["PAKASHOP_RUNNER_IDENT"]
    artifacts = CHECKOUT / "runner" / "artifacts" / runner_ident
    uploaded = [CHECKOUT / line.strip().replace("${{ env.PAKASHOP_RUNNER_IDENT }}", runner_ident)
                for line in step("upload")["with"]["path"].splitlines() if line.strip()]
    return CiRun(inputs["PAKASHOP_CI_RUN"], run.returncode, run.stdout + run.stderr, artifacts,
                 Path(github["GITHUB_STEP_SUMMARY"]).read_text(), uploaded)


def files(paths):
    for path in paths:
        yield from ([path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()])


def existing_names(paths):
    return {path.name for path in paths if path.exists()}


def holding(paths, value):
    return sorted(str(path) for path in files(paths) if value.encode() in path.read_bytes())


def catalog_with_secret():
    catalog = yaml.safe_load(CATALOG.read_text())["pakashop_service_catalog"]
    catalog["api"]["secrets"] = {"API_TOKEN": SECRET}
    return yaml.safe_dump({"pakashop_service_catalog": catalog})


def api_hosts(lab):
    return [name for name in lab.names("staging") if "api" in lab.by_name(name).services]


@pytest.fixture(scope="module")
def runs(lab, tmp_path_factory):
    """A good deploy, then one of an api whose health never reports OK; staging
    is put back on a good commit afterwards for the tests that follow."""
    work = tmp_path_factory.mktemp("ci")
    good = run_like_ci(lab, work / "good", catalog_with_secret())
    secret_on_host = SECRET in lab.host(api_hosts(lab)[0]).file("/etc/pakashop/api.env").content_string
    api = subprocess.run(["git", "--git-dir", lab.origin, "show", "refs/heads/main:api/main.py"],
                         check=True, capture_output=True, text=True).stdout
    assert BREAK_HEALTH[0] in api
    bad = lab.commit("main", {"api/main.py": api.replace(*BREAK_HEALTH)}, "api: health never OK (runner test)")
    try:
        failed = run_like_ci(lab, work / "failed", catalog_with_secret())
    finally:
        lab.commit("main", {"api/main.py": api}, "api: back to the working one (runner test)")
        restored = lab.playbook("deploy.yml", "-l", "staging")
    yield {"good": good, "failed": failed, "restored": restored, "secret_on_host": secret_on_host, "bad": bad}
    for run in (good, failed):
        shutil.rmtree(run.artifacts, ignore_errors=True)


def test_a_good_deploy_exits_0_and_the_summary_says_it_succeeded(lab, runs):
    good = runs["good"]
    assert good.rc == 0, good.output[-3000:]
    assert good.summary.startswith("### ✅ Deploy staging succeeded"), good.summary
    for name in lab.names("staging"):
        assert re.search(rf"^\| {name} \| \d+ \| \d+ \| 0 \| 0 \|", good.summary, re.M), good.summary
    assert "#### Failed" not in good.summary


def test_the_summary_is_also_kept_with_the_artifacts(runs):
    good = runs["good"]
    assert (good.artifacts / "summary.md").read_text() == good.summary


def test_a_failed_health_gate_exits_non_zero_and_the_summary_names_service_host_and_gate(lab, runs):
    failed = runs["failed"]
    assert failed.rc != 0
    assert failed.summary.startswith("### ❌ Deploy staging failed"), failed.summary
    gates = [m.groupdict() for m in FAILED_GATE.finditer(failed.summary)]
    assert len(gates) == 1, failed.summary
    named = gates[0]
    assert (named["service"], named["gate"]) == ("api", "health"), failed.summary
    assert named["host"] in api_hosts(lab)
    # and the role's own message, with the journal, for the person on call
    assert f"{named['host']}: the deploy failed (api: gate 'health' failed for release " in failed.summary
    assert "Last journal lines of pakashop-api@1.service" in failed.summary


def test_the_summary_names_the_host_and_gate_the_ledger_recorded(lab, runs):
    named = FAILED_GATE.search(runs["failed"].summary)
    tried = {name: [e for e in lab.ledger(name, "api") if e.get("commit") == runs["bad"]] for name in api_hosts(lab)}
    assert [name for name, entries in tried.items() if entries] == [named["host"]]
    assert tried[named["host"]][-1]["failed_gate"] == named["gate"]


def test_the_ledger_links_the_ci_run_that_tried_the_release(lab, runs):
    host = FAILED_GATE.search(runs["failed"].summary)["host"]
    entries = [e for e in lab.ledger(host, "api") if e.get("commit") == runs["bad"]]
    assert entries and {e.get("ci_run") for e in entries} == {runs["failed"].ci_run}, entries


def test_staging_is_healthy_again_for_the_tests_that_follow(lab, runs):
    restored = runs["restored"]
    assert restored.rc == 0, restored.output[-3000:]
    head = lab.head("main")
    for service in ("gateway", "api", "notifications", "moderation"):
        assert set(lab.serves(service).values()) == {head}, (service, lab.serves(service))
        built_from = lab.built_from(service, head)
        assert all(set(v) == {built_from} for v in lab.serving(service).values()), (service, lab.serving(service))


@pytest.mark.parametrize("which", ["good", "failed"])
def test_no_artifact_holds_the_catalog_secret_nor_the_ssh_key(lab, runs, which):
    run = runs[which]
    assert list(files([run.artifacts / "job_events"])), "the run wrote no job events"
    # Each line of the key's base64 body is found whether the key leaked with its
    # line breaks, as JSON with "\n", or joined into one line.
    key_lines = [line for line in lab.key.read_text().splitlines()[1:-1] if len(line) >= 20]
    assert key_lines, "the lab's key has no body to look for"
    assert holding([run.artifacts], SECRET) == []
    assert [(line[:8], holding([run.artifacts], line)) for line in key_lines if holding([run.artifacts], line)] == []
    assert SECRET not in run.summary and SECRET not in run.output


def test_the_secret_did_reach_the_api_env_file(runs):
    assert runs["secret_on_host"], "the catalog's secret never reached the host: the checks above prove nothing"


@pytest.mark.parametrize("which", ["good", "failed"])
def test_ci_credentials_in_the_environment_stay_out_of_what_is_uploaded(runs, which):
    run = runs[which]
    # ansible-runner writes its whole environment to artifacts/<ident>/command:
    assert holding([run.artifacts], CREDENTIAL) == [str(run.artifacts / "command")]
    assert existing_names(run.uploaded) == {"job_events", "stdout", "status", "rc", "summary.md"}
    assert holding(run.uploaded, CREDENTIAL) == []


# The lab stand-in's tokens (lab/lab.yml), given as CI gives secrets.
FRONTEND_TOKENS = {"vercel_token": "lab-vercel-token", "github_token": "lab-github-token"}


def test_the_frontend_tokens_stay_out_of_a_status_run_s_artifacts(lab, runs, tmp_path):
    run = run_like_ci(lab, tmp_path / "status", yaml.safe_dump(FRONTEND_TOKENS), playbook="status.yml")
    try:
        assert run.rc == 0, run.output[-3000:]
        assert "READY" in run.output, "status read no Vercel deployment: the check below proves nothing"
        for token in FRONTEND_TOKENS.values():
            assert holding([run.artifacts], token) == [], token
            assert token not in run.output and token not in run.summary
    finally:
        shutil.rmtree(run.artifacts, ignore_errors=True)
