"""A release carries its configuration (issue 13): the env file, the unit and
its drop-ins switch with `current`, so whatever brings a release back - the
fallback after a failed gate, a fast rollback - brings its configuration
back too. Read from the running process (/proc/<pid>/environ) and from
systemd (`systemctl show`), not from the files alone.

Each deploy passes the catalog with the new values as extra vars (-e @file);
staging is deployed without them at the end, for the tests that follow.
"""

import base64
import json
import time

import pytest
import yaml

from conftest import CHECKOUT

CATALOG = CHECKOUT / "inventories" / "group_vars" / "all" / "services.yml"
UNIT = "pakashop-api@1"
GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()


def catalog_with(env, limits):
    catalog = yaml.safe_load(CATALOG.read_text())
    catalog["pakashop_service_catalog"]["api"]["env"] = env
    catalog["pakashop_service_catalog"]["api"]["limits"] = limits
    return catalog


def running(lab, name):
    """(environ, LimitNOFILE) of api@1 as it runs on a host."""
    host = lab.host(name)
    pid = host.run(f"systemctl show -P MainPID {UNIT}").stdout.strip()
    assert pid not in ("", "0"), f"{UNIT} is not running on {name}"
    raw = base64.b64decode(host.check_output(f"base64 -w0 /proc/{pid}/environ"))
    environ = dict(entry.decode().split("=", 1) for entry in raw.split(b"\0") if entry)
    limit = host.check_output(f"systemctl show -P LimitNOFILE {UNIT}")
    return environ, limit


@pytest.fixture(scope="module")
def changed(staging, tmp_path_factory):
    """A good release with API_MODE=new and LimitNOFILE=4096 in its configuration, then one
    that changes both again and fails its gate; then a fast rollback to the release before."""
    lab, work = staging, tmp_path_factory.mktemp("config")
    host = lab.names("staging")[0]
    result = {"host": host, "before": running(lab, host)}
    try:
        good = work / "good.json"
        good.write_text(json.dumps(catalog_with({"API_MODE": "new"}, {"LimitNOFILE": 4096})))
        lab.commit("main", {"api/main.py": GOOD_API + f"# config {time.time()}\n"}, "api: a release for the config test")
        result["good"] = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=api", "-e", f"@{good}")
        result["good_running"] = running(lab, host)
        bad = work / "bad.json"
        bad.write_text(json.dumps(catalog_with({"API_MODE": "broken"}, {"LimitNOFILE": 2048})))
        lab.commit("main", {"api/main.py": GOOD_API.replace('service = Service("api")\n',
                                                            'service = Service("api")\nraise SystemExit("api: no db")\n')},
                   "api: a release that crashes at start")
        result["bad"] = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=api", "-e", f"@{bad}")
        result["bad_running"] = running(lab, host)
        result["env_file"] = lab.host(host).file("/etc/pakashop/api.env").content_string
        result["rollback"] = lab.playbook("rollback.yml", "-l", "staging", "-e", "services=api")
        result["rollback_running"] = running(lab, host)
    finally:
        lab.commit("main", {"api/main.py": GOOD_API + f"# restored {time.time()}\n"}, "Restore api")
        result["restored"] = lab.playbook("deploy.yml", "-l", "staging")
    return result


def test_a_release_runs_with_the_env_and_unit_settings_it_was_made_with(changed):
    assert changed["good"].rc == 0, changed["good"].output[-3000:]
    environ, limit = changed["good_running"]
    assert environ.get("API_MODE") == "new" and limit == "4096"


def test_a_failed_release_leaves_the_previous_env_and_unit_settings_running(changed):
    assert changed["bad"].rc != 0
    assert "Went back" in changed["bad"].said, changed["bad"].output[-3000:]
    environ, limit = changed["bad_running"]
    assert environ.get("API_MODE") == "new", "the env of the release it went back to, not the failed one's"
    assert limit == "4096"
    assert "broken" not in changed["env_file"]


def test_a_fast_rollback_brings_back_the_configuration_of_the_release_it_goes_back_to(changed):
    assert changed["rollback"].rc == 0, changed["rollback"].output[-3000:]
    environ, limit = changed["rollback_running"]
    before_environ, before_limit = changed["before"]
    assert environ.get("API_MODE") is None and before_environ.get("API_MODE") is None
    assert limit == before_limit != "4096"


def test_staging_is_back_on_the_lab_catalog(changed):
    assert changed["restored"].rc == 0, changed["restored"].output[-3000:]
