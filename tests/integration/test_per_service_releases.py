"""A release is a service's, named by its content (issue 13): a commit that
changes only api/ moves only the api - every other service keeps its
release and its processes - and every service is reported as serving the
new commit (the ledger's `serves`), with no false drift in status. A commit
outside every service's folders restarts nothing at all.
"""

import json
import time

import pytest

from conftest import CHECKOUT

GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()


def units(lab):
    """{(host, unit): (MainPID, REVISION of its service's current release)} of every staging instance."""
    found = {}
    for name in lab.names("staging"):
        host = lab.host(name)
        listed = host.check_output("systemctl list-units --plain --no-legend --state=running 'pakashop-*@*.service'")
        for line in listed.splitlines():
            unit = line.split()[0]
            service = unit[len("pakashop-"):].split("@")[0]
            pid = host.check_output(f"systemctl show -P MainPID {unit}")
            revision = host.file(f"/opt/pakashop/{service}/current/REVISION").content_string.strip()
            found[(name, unit)] = (pid, revision)
    return found


@pytest.fixture(scope="module")
def moves(staging, tmp_path_factory):
    """Staging deployed, then a commit to api/ only, then one outside every service's folders."""
    lab, work = staging, tmp_path_factory.mktemp("per-service")
    assert lab.playbook("deploy.yml", "-l", "staging").rc == 0
    result = {"before": units(lab)}
    result["api_commit"] = lab.commit("main", {"api/main.py": GOOD_API + f"# api only {time.time()}\n"},
                                      "api: a change of the api alone")
    result["api"] = lab.playbook("deploy.yml", "-l", "staging")
    result["after_api"] = units(lab)
    result["ledgers"] = {(name, service): lab.ledger(name, service) for name in lab.names("staging")
                         for service in lab.by_name(name).services}
    result["status"] = lab.playbook("status.yml", "-e", f"status_output_dir={work}")
    result["report"] = json.loads((work / "status.json").read_text())
    result["verify"] = lab.playbook("verify.yml", "-l", "staging")
    result["docs_commit"] = lab.commit("main", {"docs/CHANGES.md": f"A note {time.time()}\n"}, "docs: a note")
    result["docs"] = lab.playbook("deploy.yml", "-l", "staging")
    result["after_docs"] = units(lab)
    result["again"] = lab.playbook("deploy.yml", "-l", "staging")
    return result


def test_a_commit_to_api_only_restarts_the_api_alone(moves):
    assert moves["api"].rc == 0, moves["api"].output[-3000:]
    before, after = moves["before"], moves["after_api"]
    assert set(before) == set(after)
    for (host, unit), (pid, revision) in after.items():
        if unit.startswith("pakashop-api@"):
            assert pid != before[(host, unit)][0] and revision == moves["api_commit"], (host, unit)
        else:
            assert (pid, revision) == before[(host, unit)], f"{unit} on {host} was restarted or moved"


def test_every_service_serves_the_new_commit_by_its_ledger(moves):
    for (name, service), entries in moves["ledgers"].items():
        last = entries[-1]
        assert (last["outcome"], last["serves"]) == ("active", moves["api_commit"]), (name, service, last)
        # the api's release is new; the others' was built from an earlier commit
        assert (last["commit"] == moves["api_commit"]) == (service == "api"), (name, service, last)


def test_status_shows_staging_on_the_new_commit_without_false_drift(moves):
    assert moves["status"].rc == 0, moves["status"].output[-3000:]
    report = moves["report"]
    staging = [row for row in report["rows"] if row["environment"] == "staging"]
    assert staging and {row["commit"] for row in staging} == {moves["api_commit"]}
    assert {row["built_from"] for row in staging if row["service"] == "api"} == {moves["api_commit"]}
    assert {row["built_from"] for row in staging if row["service"] != "api"} != {moves["api_commit"]}
    assert not [line for line in report["drift"] if line.startswith("staging/")], report["drift"]
    assert moves["verify"].rc == 0, moves["verify"].output[-3000:]


def test_a_commit_outside_every_services_folders_restarts_nothing(moves, staging):
    docs = moves["docs"]
    assert docs.rc == 0, docs.output[-3000:]
    assert moves["after_docs"] == moves["after_api"], "no process restarted, no release moved"
    for name in staging.names("staging"):
        for service in staging.by_name(name).services:
            assert staging.ledger(name, service)[-1]["serves"] == moves["docs_commit"]
    assert moves["again"].rc == 0 and moves["again"].changed == 0, moves["again"].recap
