"""A preview deploy on the lab's preview host: any feature/* branch, named with
-e release_ref; without it the run is refused before anything changes."""

import pytest

BRANCH = "feature/preview-check"
# What a deploy could change on a host: the releases and their links, the
# ledgers, the units and their processes.
STATE = ("ls -lR /opt/pakashop /var/lib/pakashop 2>&1; "
         "systemctl show -p Id -p ActiveState -p MainPID 'pakashop-*' --all 2>&1")


def host_state(lab, environment):
    return {name: lab.host(name).run(STATE).stdout for name in lab.names(environment)}


@pytest.fixture(scope="module")
def preview(staging):
    lab = staging
    assert lab.names("preview"), "the test lab starts one preview host (LAB_PREVIEW_HOSTS=1)"
    before = host_state(lab, "preview")
    refused = lab.playbook("deploy.yml", "-l", "preview")
    after_refusal = host_state(lab, "preview")
    lock_after_refusal = lab.lock("preview")
    commit = lab.commit(BRANCH, {"docs/preview.md": "a preview of a feature\n"}, "Preview a feature", base="main")
    staging_before = host_state(lab, "staging")
    run = lab.playbook("deploy.yml", "-l", "preview", "-e", f"release_ref={BRANCH}")
    assert run.rc == 0, run.output[-3000:]
    return {"lab": lab, "commit": commit, "run": run, "staging_before": staging_before,
            "refused": refused, "before": before, "after_refusal": after_refusal,
            "lock_after_refusal": lock_after_refusal}


def test_a_preview_deploy_without_release_ref_is_refused_and_changes_nothing(preview):
    refused = preview["refused"]
    assert refused.rc != 0
    assert "preview deploys any branch matching feature/*: say which one with -e release_ref=<branch>" \
        in refused.said
    assert refused.changed == 0
    assert preview["after_refusal"] == preview["before"]
    assert preview["lock_after_refusal"] is None


def test_every_instance_on_the_preview_host_serves_the_feature_branch(preview):
    """Each service serves the branch's head from its release of it, which answers the commit
    that last changed its folders (the feature commit changes none of them)."""
    lab = preview["lab"]
    for name in lab.names("preview"):
        for service in lab.by_name(name).services:
            built_from = lab.built_from(service, preview["commit"])
            versions = lab.serving(service, "preview")[name]
            assert versions and all(v == built_from for v in versions), f"{name}: {service} answers {versions}"
            assert lab.serves(service, "preview")[name] == preview["commit"]


def test_current_and_the_ledger_on_the_preview_host_name_the_release(preview):
    lab = preview["lab"]
    for name in lab.names("preview"):
        host = lab.host(name)
        for service in lab.by_name(name).services:
            current = host.file(f"/opt/pakashop/{service}/current").linked_to
            built_from = lab.built_from(service, preview["commit"])
            assert host.file(f"{current}/REVISION").content_string.strip() == built_from
            last = lab.ledger(name, service)[-1]
            assert (last["commit"], last["serves"], last["outcome"]) == (built_from, preview["commit"], "active")
            assert last["branch"] == BRANCH
            assert current == f"/opt/pakashop/{service}/releases/{last['release']}"
    assert preview["commit"][:7] in preview["run"].said
    assert lab.lock("preview") is None


def test_the_staging_hosts_are_not_touched_by_a_preview_deploy(preview):
    assert host_state(preview["lab"], "staging") == preview["staging_before"]
