"""The catalog's env values and secrets reach the running service byte for
byte, read back from /proc/<MainPID>/environ of pakashop-moderation@1, and
the secrets are never printed: not by ansible-playbook (also with --diff and
-v), not in ansible-runner's artifacts, not when a value is refused.

Each deploy passes the catalog with the tricky values as extra vars (-e @file,
as CI hands over its secret variables); staging is deployed without them at
the end, for the tests that follow.
"""

import base64
import json
import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from test_runner import holding, run_like_ci  # CI's steps, as test_runner.py runs them

CHECKOUT = Path(__file__).resolve().parents[2]
CATALOG = CHECKOUT / "inventories" / "group_vars" / "all" / "services.yml"
SERVICE, UNIT = "moderation", "pakashop-moderation@1"

PEM = ("-----BEGIN PRIVATE KEY-----\n"
       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "-----END PRIVATE KEY-----\n")
EVERYTHING = " \t\"double\" 'single' $HOME ${X} $$ 100% %i %n # ; `uname` \\ \\n \\\" C:\\dir\\ \r\n\t\x1b\x7f é€😀 \\"
ENV = {
    "TRICKY_EVERYTHING": EVERYTHING,
    "TRICKY_PADDED": "  two spaces each side  ",
    "TRICKY_TABS": "\tleading and trailing tabs\t",
    "TRICKY_TRAILING_BACKSLASH": "ends with \\",
    "TRICKY_BACKSLASH_NEWLINE": "a\\\nb",
    "TRICKY_NEWLINES": "line 1\nline 2\n",
    "TRICKY_CRLF": "line 1\r\nline 2\r\n",
    "TRICKY_HASH": "#not a comment",
    "TRICKY_EMPTY": "",
    "TRICKY_JSON": '{"user": "app", "password": "p@$$w0rd\\"\\n", "list": [1, "two"]}',
    "TRICKY_PEM": PEM,
    "TRICKY_INT": 8080,
    "TRICKY_BOOL": True,
}
WRITTEN = {**ENV, "TRICKY_INT": "8080", "TRICKY_BOOL": "true"}


def secret_values(marker):
    """Secrets with the tricky characters around a marker that appears nowhere
    else: found in any output, however escaped, the secret was printed."""
    return {"TRICKY_SECRET": f"{marker}{EVERYTHING}{marker}",
            "TRICKY_SECRET_PEM": PEM.replace("MIIE", f"MIIE{marker}")}


def catalog_with(env, secrets):
    catalog = yaml.safe_load(CATALOG.read_text())
    catalog["pakashop_service_catalog"][SERVICE]["env"] = env
    catalog["pakashop_service_catalog"][SERVICE]["secrets"] = secrets
    return catalog


def moderation_host(lab):
    return next(n for n in lab.names("staging") if SERVICE in lab.by_name(n).services)


def environ(lab):
    """{name: value} of the running instance, from the bytes of /proc/<pid>/environ."""
    host = lab.host(moderation_host(lab))
    pid = host.run(f"systemctl show -P MainPID {UNIT}").stdout.strip()
    assert pid not in ("", "0"), f"{UNIT} is not running"
    raw = base64.b64decode(host.check_output(f"base64 -w0 /proc/{pid}/environ"))
    pairs = (entry.split(b"=", 1) for entry in raw.split(b"\0") if entry)
    return {name.decode(): value.decode() for name, value in pairs}


@pytest.fixture(scope="module")
def runs(staging, tmp_path_factory):
    """A deploy with --diff -v, then one through ansible-runner as CI runs it
    (other secrets, so that the env file changes again), a redeploy of the
    same, a --check deploy with a secret no env can hold; then staging without
    the override."""
    lab, work = staging, tmp_path_factory.mktemp("env-exact")
    first_marker, runner_marker = f"secret{uuid.uuid4().hex}", f"secret{uuid.uuid4().hex}"
    first_secrets, runner_secrets = secret_values(first_marker), secret_values(runner_marker)
    result = {"first_marker": first_marker, "runner_marker": runner_marker,
              "first_secrets": first_secrets, "runner_secrets": runner_secrets}
    first = work / "first.json"
    first.write_text(json.dumps(catalog_with(ENV, first_secrets)))
    try:
        result["first"] = lab.playbook("deploy.yml", "-l", "staging", "-e", f"@{first}", "--diff", "-v")
        result["first_environ"] = environ(lab)
        result["ci"] = run_like_ci(lab, work / "ci", yaml.safe_dump(catalog_with(ENV, runner_secrets)))
        result["ci_environ"] = environ(lab)
        again = work / "again.json"
        again.write_text(json.dumps(catalog_with(ENV, runner_secrets)))
        result["again"] = lab.playbook("deploy.yml", "-l", "staging", "-e", f"@{again}")
        nul = work / "nul.json"
        nul.write_text(json.dumps(catalog_with(ENV, {"TRICKY_SECRET": f"{first_marker}\0{first_marker}"})))
        result["nul"] = lab.playbook("deploy.yml", "-l", "staging", "-e", f"@{nul}", "--check", "--diff", "-v")
    finally:
        result["restored"] = lab.playbook("deploy.yml", "-l", "staging")
        result["restored_environ"] = environ(lab)
    yield result
    if "ci" in result:
        shutil.rmtree(result["ci"].artifacts, ignore_errors=True)


def test_env_values_and_secrets_reach_the_service_byte_for_byte(runs):
    assert runs["first"].rc == 0, runs["first"].output[-3000:]
    got = runs["first_environ"]
    assert {k: got.get(k) for k in WRITTEN} == WRITTEN
    assert {k: got.get(k) for k in runs["first_secrets"]} == runs["first_secrets"]
    assert got["PAKASHOP_SERVICE"] == SERVICE and got["PAKASHOP_ENVIRONMENT"] == "staging"


def test_a_deploy_through_ansible_runner_delivers_them_exactly_too(runs):
    assert runs["ci"].rc == 0, runs["ci"].output[-3000:]
    got = runs["ci_environ"]
    assert {k: got.get(k) for k in WRITTEN} == WRITTEN
    assert {k: got.get(k) for k in runs["runner_secrets"]} == runs["runner_secrets"]


def test_the_secrets_are_not_printed_with_diff_and_v(runs):
    first = runs["first"]
    assert "TRICKY_SECRET" not in first.output  # not even the name: the env file's diff is hidden
    assert runs["first_marker"] not in first.output
    # the env values are not secret, but they are not shown either (no_log on the env file)
    assert "leading and trailing tabs" not in first.output


def test_the_secrets_are_not_in_ansible_runner_s_artifacts_nor_its_output(runs):
    ci = runs["ci"]
    marker = runs["runner_marker"]
    assert holding([ci.artifacts], marker) == []
    assert marker not in ci.output and marker not in ci.summary


def test_a_redeploy_of_the_same_values_changes_nothing(runs):
    """service_drift renders the env file on the controller: its checksum
    agrees with the file the template task wrote."""
    again = runs["again"]
    assert again.rc == 0, again.output[-3000:]
    assert again.changed == 0, again.recap


def test_a_nul_is_refused_naming_the_variable_and_not_the_secret(runs):
    nul = runs["nul"]
    assert nul.rc != 0
    # refused in the plan, before the lock and before any host is touched
    assert "The deploy was refused before anything was changed" in nul.said, nul.output[-3000:]
    assert "secrets.TRICKY_SECRET holds a NUL character" in nul.said, nul.output[-3000:]
    assert runs["first_marker"] not in nul.output


def test_staging_is_back_without_the_override(runs):
    assert runs["restored"].rc == 0, runs["restored"].output[-3000:]
    assert not any(name.startswith("TRICKY_") for name in runs["restored_environ"])
