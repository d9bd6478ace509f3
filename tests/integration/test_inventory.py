"""pakashop.infra.ec2 as a person runs it: ansible-inventory and ansible-playbook
against a moto server that this module starts on a free loopback port and
stops. It needs no lab (and must not ask for the `lab` fixture)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REGION = "eu-west-1"
sys.path.insert(0, str(CHECKOUT / "tests/bench/inventory"))

from moto_endpoint import MotoServer  # noqa: E402

INVENTORY = """\
plugin: pakashop.infra.ec2
regions: [{region}]
endpoint_url: "{{{{ lookup('ansible.builtin.env', 'PAKASHOP_TEST_EC2_URL') }}}}"
aws_access_key: bench
aws_secret_key: bench
hostnames: [tag:Name, private-ip-address]
"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with MotoServer(log_path=log) as server:
        server.log = log
        for name, env, services in [("stg-1", "staging", "gateway,api"), ("stg-2", "staging", "api"),
                                    ("prd-1", "production", "gateway, API"), ("qa-1", "qa", "notifications")]:
            server.launch(REGION, 1, {"Name": name, "Project": "pakashop", "Environment": env, "Services": services})
        server.launch(REGION, 1, {"Name": "stg-old", "Project": "pakashop", "Environment": "staging"}, state="stopped")
        server.launch(REGION, 1, {"Name": "not-ours", "Project": "other", "Environment": "staging"})
        yield server


@pytest.fixture
def inventory_file(tmp_path):
    path = tmp_path / "ec2.yml"
    path.write_text(INVENTORY.format(region=REGION))
    return path


def run(command, *args, env=None):
    """An Ansible command from the checkout (its ansible.cfg), as a person runs it."""
    result = subprocess.run([BIN / command, *map(str, args)], cwd=CHECKOUT, capture_output=True, text=True,
                            env={**os.environ, "AWS_MAX_ATTEMPTS": "1", **(env or {})}, timeout=120, check=False)
    return result


def requests_served(server):
    return server.log.read_text().count("POST /")


def test_list_groups_and_hostvars(endpoint, inventory_file):
    result = run("ansible-inventory", "-i", inventory_file, "--list", env={"PAKASHOP_TEST_EC2_URL": endpoint.url})
    assert result.returncode == 0, result.stderr
    # values from AWS are untrusted (never templated): --list marks them so
    listed = json.loads(result.stdout, object_hook=lambda o: o.get("__ansible_unsafe", o))
    assert sorted(listed["staging"]["hosts"]) == ["stg-1", "stg-2"]
    assert listed["production"]["hosts"] == ["prd-1"]
    assert sorted(listed["service_api"]["hosts"]) == ["prd-1", "stg-1", "stg-2"]
    assert listed["pakashop_unmapped"]["hosts"] == ["qa-1"]
    prd = listed["_meta"]["hostvars"]["prd-1"]
    assert prd["pakashop_branch"] == "production" and prd["pakashop_services"] == ["gateway", "api"]
    assert prd["ec2_region"] == REGION and prd["ansible_host"] == prd["ec2_private_ip_address"]
    # the plugin's own warning about the unmapped environment, whatever else ansible-core says
    assert "'qa' (qa-1)" in " ".join(result.stderr.split())


def test_cached_run_sends_no_request(endpoint, inventory_file, tmp_path):
    with inventory_file.open("a") as f:
        f.write(f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {tmp_path / 'cache'}\n")
    env = {"PAKASHOP_TEST_EC2_URL": endpoint.url}
    cold = run("ansible-inventory", "-i", inventory_file, "--graph", env=env)
    before = requests_served(endpoint)
    cached = run("ansible-inventory", "-i", inventory_file, "--graph", env=env)
    assert cached.returncode == 0 and cached.stdout == cold.stdout
    assert requests_served(endpoint) == before
    flushed = run("ansible-inventory", "-i", inventory_file, "--graph", "--flush-cache", env=env)
    assert flushed.stdout == cold.stdout and requests_served(endpoint) > before


def test_playbook_sees_the_environment_group(endpoint, inventory_file):
    result = run("ansible-playbook", "-i", inventory_file, "playbooks/deploy.yml", "-l", "staging", "--list-hosts",
                 env={"PAKASHOP_TEST_EC2_URL": endpoint.url})
    assert result.returncode == 0, result.stderr
    assert "stg-1" in result.stdout and "stg-2" in result.stdout and "prd-1" not in result.stdout


UNREACHABLE = "Cannot reach the EC2 endpoint http://127.0.0.1:9/ (region eu-west-1): check endpoint_url"


@pytest.mark.parametrize("command, args", [
    ("ansible-inventory", ["--list"]),
    ("ansible-playbook", ["playbooks/deploy.yml", "-l", "staging", "--list-hosts"]),
])
def test_unreachable_endpoint_fails_in_one_sentence(inventory_file, command, args):
    result = run(command, "-i", inventory_file, *args, env={"PAKASHOP_TEST_EC2_URL": "http://127.0.0.1:9"})
    assert result.returncode != 0
    # the plugin's sentence, in whatever frame ansible-core prints it, and no traceback
    assert UNREACHABLE in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_vvv_adds_the_traceback(inventory_file):
    result = run("ansible-inventory", "-i", inventory_file, "--list", "-vvv",
                 env={"PAKASHOP_TEST_EC2_URL": "http://127.0.0.1:9"})
    assert result.returncode != 0
    assert "Traceback" in result.stdout + result.stderr and "EndpointConnectionError" in result.stdout + result.stderr


def test_malformed_option_points_at_its_line(endpoint, inventory_file):
    inventory_file.write_text(inventory_file.read_text() + "filter: {tag:Role: web}\n")
    result = run("ansible-inventory", "-i", inventory_file, "--list", env={"PAKASHOP_TEST_EC2_URL": endpoint.url})
    assert result.returncode != 0
    assert "filter is not an option of pakashop.infra.ec2 (did you mean filters?)" in result.stderr
    assert f"Origin: {inventory_file}:7:" in result.stderr


def test_ansible_doc_shows_options_and_examples():
    result = run("ansible-doc", "-t", "inventory", "pakashop.infra.ec2")
    assert result.returncode == 0, result.stderr
    for option in ("regions", "include_filters", "exclude_filters", "instance_states", "environments",
                   "hostnames", "hostvars_prefix", "assume_role_arn", "endpoint_url", "cache_timeout",
                   "keyed_groups", "EXAMPLES"):
        assert option in result.stdout
