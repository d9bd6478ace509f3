"""What a tired person types at night: every bad input of every playbook is
refused in the plan, in sentences that name it and the fix, exit non-zero,
before the lock and before any host is touched (issue 11)."""

import copy
import json

import pytest
import yaml

from conftest import CHECKOUT

CATALOG = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())[
    "pakashop_service_catalog"]


def hosts_state(lab):
    """Every host's releases, `current` links, ledgers and units, as one text each."""
    command = ("ls -l --time-style=+%s /opt/pakashop/*/ /opt/pakashop/*/releases/ /var/lib/pakashop/ledger/ "
               "/etc/pakashop/ 2>&1; systemctl list-units 'pakashop-*' --no-legend --plain 2>&1 | sort")
    return {name: lab.host(name).run(command).stdout for name in lab.names("staging")}


@pytest.fixture(scope="module")
def before(staging):
    return hosts_state(staging)


def catalog_file(tmp_path, service, **changes):
    catalog = copy.deepcopy(CATALOG)
    catalog[service].update(changes)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"pakashop_service_catalog": catalog}))
    return f"@{path}"


SETTINGS = [
    ("deploy.yml", ["-e", "deploy_serial=abc"], "deploy_serial is 'abc', which is not a batch size"),
    ("deploy.yml", ["-e", "deploy_serial=0"], "deploy_serial is '0', which is not a batch size"),
    ("deploy.yml", ["-e", "deploy_serial=150%"], "from 1% to 100%"),
    ("deploy.yml", ["-e", "deploy_max_fail_percentage=150"], "deploy_max_fail_percentage is '150': give a number from 0 to 100"),
    ("deploy.yml", ["-e", "deploy_lock_timeout=10m"], "deploy_lock_timeout is '10m': give a whole number of 0 or more"),
    ("deploy.yml", ["-e", "deploy_lock_break=ture"], "deploy_lock_break is 'ture', which is not a boolean"),
    ("deploy.yml", ["-e", "services=gatway"], "services names 'gatway', which the catalog (pakashop_service_catalog) does not have (did you mean gateway?)"),
    ("deploy.yml", ["-e", "services=api,,gateway"], "has an empty name"),
    ("deploy.yml", ["-e", "release_ref=--upload-pack=touch /tmp/x"], "which git cannot take as a commit, tag or branch"),
    ("deploy.yml", ["-e", "deploy_service_root=opt/pakashop"], "deploy_service_root is 'opt/pakashop': give an absolute path"),
    ("deploy.yml", ["-e", "service_keep_releases=1"], "service_keep_releases is '1': give a whole number of 2 or more"),
    ("rollback.yml", ["-e", "rollback_serial=-1"], "rollback_serial is '-1', which is not a batch size"),
    ("rollback.yml", ["-e", "to_release=latest"], "to_release is 'latest', which is not a release id"),
    ("rollback.yml", ["-e", "services=notifcations"], "(did you mean notifications?)"),
    ("revert.yml", ["-e", "revert=-x"], "revert is '-x', which git cannot take"),
    ("revert.yml", ["-e", "revert_parent=0"], "revert_parent is '0': give a whole number of 1 or more"),
]


@pytest.mark.parametrize("playbook, args, words", SETTINGS, ids=[" ".join(case[1]) for case in SETTINGS])
def test_a_bad_setting_is_refused_before_anything_changes(staging, before, playbook, args, words):
    run = staging.playbook(playbook, "-l", "staging", *args)
    assert run.rc != 0
    assert f"The {playbook[:-4]} was refused before anything was changed: " in run.said, run.output[-2000:]
    assert words in run.said
    assert run.changed == 0
    assert staging.lock("staging") is None


def test_a_rollback_asked_to_revert_names_the_playbook_that_does(staging):
    run = staging.playbook("rollback.yml", "-l", "staging", "-e", "revert=3f4a276")
    assert run.rc != 0
    assert "run playbooks/revert.yml -l staging -e revert=3f4a276 instead" in run.said
    assert run.changed == 0 and staging.lock("staging") is None


CATALOGS = [
    ("api", {"port": 8080}, "pakashop_service_catalog.api and gateway both listen on port 8080 of stg-1"),
    ("api", {"instances": 0}, "pakashop_service_catalog.api.instances is 0: a service runs 1 instance or more"),
    ("api", {"exec_start": ""}, "pakashop_service_catalog.api.exec_start is '': give the command"),
    ("api", {"health_path": "healthz"}, "pakashop_service_catalog.api.health_path is 'healthz': give a path that starts with '/'"),
    ("api", {"port": 70000}, "pakashop_service_catalog.api.port is 70000: give a port from 1024 to 65535"),
    ("gateway", {"upstreams": ["apu"]}, "pakashop_service_catalog.gateway.upstreams names 'apu', which is not in the catalog (did you mean api?)"),
    ("api", {"after": ["gateway"]}, "The catalog's `after` lists form a cycle"),
    ("moderation", {"limits": {"MemoryMaximum": "64M"}}, "did you mean MemoryMax?"),
    ("moderation", {"secrets": {"API KEY": "x"}}, "pakashop_service_catalog.moderation.secrets has the variable name 'API KEY'"),
]


@pytest.mark.parametrize("service, changes, words", CATALOGS, ids=[f"{case[0]} {case[1]}" for case in CATALOGS])
def test_a_bad_catalog_is_refused_before_anything_changes(staging, before, tmp_path, service, changes, words):
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", catalog_file(tmp_path, service, **changes))
    assert run.rc != 0
    assert words in run.said, run.output[-2000:]
    assert run.changed == 0
    assert staging.lock("staging") is None


def test_every_problem_is_reported_at_once(staging, before, tmp_path):
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", "deploy_serial=abc",
                           "-e", catalog_file(tmp_path, "api", instances=0, health_path="x"))
    assert run.rc != 0
    assert "The deploy was refused before anything was changed: 3 problems to fix." in run.said
    for words in ("deploy_serial is 'abc'", "api.instances is 0", "api.health_path is 'x'"):
        assert words in run.said


def test_a_secret_is_never_quoted_in_a_refusal(staging, before, tmp_path):
    secret = "s3cr3t-do-not-print"
    run = staging.playbook("deploy.yml", "-l", "staging", "-e", catalog_file(
        tmp_path, "api", secrets={"DB PASSWORD": secret, "TOKEN": {"nested": secret}}))
    assert run.rc != 0 and "api.secrets has the variable name 'DB PASSWORD'" in run.said
    assert "api.secrets.TOKEN is a mapping" in run.said
    assert secret not in run.output


def test_no_refusal_changed_a_host(staging, before):
    assert hosts_state(staging) == before
