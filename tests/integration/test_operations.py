"""On-call procedures on the lab: fast rollback, verify, status (issue 5)."""

import json
import time

from conftest import CHECKOUT

GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()


def redeploy_head(lab, service=None):
    """Staging on the head of main again: only `service` when it is the only one a test moved."""
    run = lab.playbook("deploy.yml", "-l", "staging", *(["-e", f"services={service}"] if service else []))
    assert run.rc == 0, run.output[-3000:]


def test_fast_rollback_works_with_the_git_remote_gone(staging):
    lab = staging
    api_before = lab.serving("api")
    after = lab.commit("main", {"api/main.py": GOOD_API + f"# {time.time()}\n"}, "api: new release")
    others = ("gateway", "notifications", "moderation")
    left_alone = {service: (lab.serving(service), lab.pids(service)) for service in others}
    redeploy_head(lab)
    assert all(v == [after, after] for v in lab.serving("api").values())
    # a commit that changes only api/ moves only the api; the others serve it from the release they have
    assert {service: (lab.serving(service), lab.pids(service)) for service in others} == left_alone
    assert all(set(lab.serves(service).values()) == {after} for service in others)

    gone = lab.origin.with_name("backend.git.gone")
    lab.origin.rename(gone)
    try:
        run = lab.playbook("rollback.yml", "-l", "staging")
    finally:
        gone.rename(lab.origin)

    assert run.rc == 0, run.output[-3000:]
    assert lab.serving("api") == api_before
    for name in lab.serving("api"):
        entries = lab.ledger(name, "api")
        left = [e for e in entries if e.get("commit") == after][-1]
        assert left["outcome"] == "rolled_back"
        assert entries[-1]["outcome"] == "active" and [entries[-1]["commit"]] * 2 == api_before[name]
    # the services the deploy left alone stay as they are: nothing to go back to
    assert {service: (lab.serving(service), lab.pids(service)) for service in others} == left_alone
    redeploy_head(lab, "api")
    assert all(v == [after, after] for v in lab.serving("api").values())


def currents(lab, service="api"):
    """Where `current` of a service points on each staging host that runs it."""
    return {name: lab.host(name).file(f"/opt/pakashop/{service}/current").linked_to
            for name in lab.names("staging") if service in lab.by_name(name).services}


def ledgers(lab, service="api"):
    return {name: lab.ledger(name, service) for name in currents(lab, service)}


def test_a_rollback_in_check_mode_changes_nothing(staging):
    lab = staging
    before, entries = currents(lab), ledgers(lab)
    units = {n: lab.host(n).run("systemctl show -p MainPID --value pakashop-api@1").stdout for n in before}
    run = lab.playbook("rollback.yml", "-l", "staging", "--check")
    assert run.rc == 0, run.output[-3000:]
    assert currents(lab) == before and ledgers(lab) == entries
    assert {n: lab.host(n).run("systemctl show -p MainPID --value pakashop-api@1").stdout for n in before} == units
    assert lab.lock("staging") is None


def batches(run):
    """How many batches the rollback's "Roll back" play ran in."""
    return run.output.count("PLAY [Roll back]")


def test_a_rollback_to_a_named_release_moves_every_host_at_once(staging):
    """Every lab service has a socket or no port, so each host keeps answering
    through its own restarts and the rollback takes every host at once."""
    lab = staging
    serving = {v[0] for v in lab.serving("api").values()}
    kept = [set(lab.host(n).run("ls /opt/pakashop/api/releases").stdout.split()) for n in currents(lab)]
    host = next(iter(currents(lab)))
    good = {e["release"]: e["commit"] for e in lab.ledger(host, "api") if e.get("outcome") == "active"}
    older = sorted(r for r in set.intersection(*kept) if r in good and good[r] not in serving)[-1]
    run = lab.playbook("rollback.yml", "-l", "staging", "-e", "services=api", "-e", f"to_release={older}")
    try:
        assert run.rc == 0, run.output[-3000:]
        assert batches(run) == 1 and len(currents(lab)) > 1
        assert "Every host goes back at once: each keeps answering while its instances restart" in run.said
        assert all(v == [good[older]] * 2 for v in lab.serving("api").values())
        assert all(path.endswith(older) for path in currents(lab).values())
    finally:
        redeploy_head(lab, "api")


NOT_KEPT = "20200101T000000Z-0000000"


def roll_back_to_a_release_not_kept(lab, *extra):
    """A rollback of the api to a release no host has: (the run, the hosts whose
    rollback failed, as the run says it), after checking it changed nothing."""
    before, entries = currents(lab), ledgers(lab)
    run = lab.playbook("rollback.yml", "-l", "staging", "-e", "services=api", "-e", f"to_release={NOT_KEPT}", *extra)
    assert run.rc != 0
    assert currents(lab) == before and ledgers(lab) == entries
    assert lab.lock("staging") is None
    said = f"the rollback failed (api cannot go back to {NOT_KEPT}: it is not on the host"
    return run, [name for name in before if f"{name}: {said}" in run.said]


def test_a_rollback_that_cannot_go_back_fails_on_every_host_and_changes_nothing(staging):
    run, failed = roll_back_to_a_release_not_kept(staging)
    assert batches(run) == 1
    assert failed == list(currents(staging)), run.output[-3000:]


def test_a_rollback_host_by_host_stops_at_the_first_host_that_cannot_go_back(staging):
    run, failed = roll_back_to_a_release_not_kept(staging, "-e", "rollback_serial=1")
    assert "Hosts go back in batches of 1 (rollback_serial)." in run.said
    # a host the run stopped before is not even in the recap
    assert len(failed) == 1 and [n for n, row in run.recap.items() if row["failed"]] == failed, run.recap


def test_a_service_deployed_absent_stops_and_keeps_its_files(staging):
    lab = staging
    name = next(n for n in lab.names("staging") if "moderation" in lab.by_name(n).services)
    host = lab.host(name)
    release = host.file("/opt/pakashop/moderation/current").linked_to
    run = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=moderation", "-e", "service_state=absent")
    try:
        assert run.rc == 0, run.output[-3000:]
        assert not host.service("pakashop-moderation@1").is_running
        assert not host.service("pakashop-moderation@1").is_enabled
        assert host.file(release).is_directory and host.file("/etc/pakashop/moderation.env").exists
        assert host.file("/var/lib/pakashop/ledger/moderation.json").exists
    finally:
        again = lab.playbook("deploy.yml", "-l", "staging", "-e", "services=moderation")
    assert again.rc == 0, again.output[-3000:]
    assert host.service("pakashop-moderation@1").is_running and host.service("pakashop-moderation@1").is_enabled


def test_verify_fails_on_a_stopped_unit_and_names_it(staging):
    lab = staging
    name = next(n for n in lab.names("staging") if "moderation" in lab.by_name(n).services)
    host = lab.host(name)
    host.run("systemctl stop pakashop-moderation@1")
    try:
        run = lab.playbook("verify.yml", "-l", "staging")
    finally:
        host.run("systemctl start pakashop-moderation@1")
    assert run.rc != 0
    assert f"Unhealthy: {name}/moderation." in run.said
    assert "pakashop-moderation@1.service: gate 'unit' failed" in run.said


def test_verify_shows_errors_in_the_log_since_activation(staging):
    lab = staging
    name = next(n for n in lab.names("staging") if "notifications" in lab.by_name(n).services)
    # A message the worker cannot read makes it log an error (priority err).
    spool = "/opt/pakashop/notifications/shared/spool"
    lab.host(name).run(f"echo 'not json' > {spool}/bad.tmp && mv {spool}/bad.tmp {spool}/bad.json && "
                       f"timeout 10 sh -c 'while [ -e {spool}/bad.json ]; do sleep 0.2; done'")
    run = lab.playbook("verify.yml", "-l", "staging", "-e", "services=notifications")
    assert run.rc == 0, run.output[-3000:]
    assert "journal lines of priority warning or worse since activation" in run.said
    assert "could not send bad.json" in run.said


def test_status_writes_the_table_as_json_and_markdown_and_shows_drift(staging, tmp_path):
    lab = staging
    first = lab.names("staging")[0]
    # one staging host's api goes back a release: the environment drifts
    back = lab.playbook("rollback.yml", "-l", first, "-e", "services=api")
    assert back.rc == 0, back.output[-3000:]
    try:
        run = lab.playbook("status.yml", "-e", f"status_output_dir={tmp_path}")
    finally:
        redeploy_head(lab, "api")
    assert run.rc == 0, run.output[-3000:]
    report = json.loads((tmp_path / "status.json").read_text())
    rows = {(r["environment"], r["service"], r["host"]): r for r in report["rows"]}
    assert rows[("staging", "gateway", lab.names("staging")[0])]["commit"] == lab.head("main")
    assert all(r["release"] is None for k, r in rows.items() if k[0] == "production")
    assert any(d.startswith("staging/api: hosts run different commits") for d in report["drift"])
    markdown = (tmp_path / "status.md").read_text()
    assert "| staging | api |" in markdown and "**Drift**" in markdown
    assert "not deployed" in run.said
    head = rows[("staging", "gateway", lab.names("staging")[0])]["commit"]
    assert f"staging runs {head[:12]}: 0 commit(s) behind and 0 ahead of main (up to date)." in run.said
    older = rows[("staging", "api", first)]["commit"]
    assert f"staging runs {older[:12]}: " in run.said and older != head


def test_status_with_the_git_remote_gone_says_so_and_prints_the_table(staging):
    lab = staging
    gone = lab.origin.with_name("backend.git.gone")
    lab.origin.rename(gone)
    try:
        run = lab.playbook("status.yml")
    finally:
        gone.rename(lab.origin)
    assert run.rc == 0, run.output[-3000:]
    assert "Behind/ahead of main not shown: the git remote did not answer" in run.said
    assert "behind and" not in run.output
    table = run.output.split("Behind/ahead")[0]
    assert "Drift" in table or "No drift." in table
    assert all(name in table for name in lab.names("staging"))
    assert lab.head("main")[:10] in table


def test_a_service_root_that_is_not_the_default_reaches_rollback_verify_and_status(staging, tmp_path):
    lab = staging
    name = next(n for n in lab.names("staging") if "moderation" in lab.by_name(n).services)
    host = lab.host(name)
    elsewhere = ["-e", "deploy_service_root=/srv/pakashop", "-e", "services=moderation"]
    # A service's user cannot change its home (the root) while its instances
    # run: the service is stopped before each move.
    stopped = ["-e", "services=moderation", "-e", "service_state=absent"]
    try:
        first = lab.head("main")
        run = lab.playbook("deploy.yml", "-l", "staging", *stopped)
        assert run.rc == 0, run.output[-3000:]
        run = lab.playbook("deploy.yml", "-l", "staging", *elsewhere)
        assert run.rc == 0, run.output[-3000:]
        later = lab.commit("main", {"moderation/NOTES": f"{time.time()}\n"}, "moderation: new release")
        run = lab.playbook("deploy.yml", "-l", "staging", *elsewhere)
        assert run.rc == 0, run.output[-3000:]
        assert host.file("/srv/pakashop/moderation/current").linked_to.startswith("/srv/pakashop/moderation/releases/")
        assert lab.serving("moderation") == {name: [later]}
        assert lab.serves("moderation", root="/srv/pakashop") == {name: later}

        # /opt/pakashop still has the earlier release current: verify and
        # status are right only if they read the same root as the deploy
        run = lab.playbook("verify.yml", "-l", "staging", *elsewhere)
        assert run.rc == 0, run.output[-3000:]
        run = lab.playbook("status.yml", "-e", f"status_output_dir={tmp_path}", *elsewhere)
        assert run.rc == 0, run.output[-3000:]
        rows = {(r["environment"], r["service"], r["host"]): r
                for r in json.loads((tmp_path / "status.json").read_text())["rows"]}
        row = rows[("staging", "moderation", name)]
        assert (row["commit"], row["healthy"]) == (later, True)

        # the rollback finds the earlier release under the same root, and its verify passes
        run = lab.playbook("rollback.yml", "-l", "staging", *elsewhere)
        assert run.rc == 0, run.output[-3000:]
        assert lab.serving("moderation") == {name: [lab.built_from("moderation", first)]}
        assert "Every checked service is healthy." in run.said
    finally:
        lab.playbook("deploy.yml", "-l", "staging", *elsewhere, *stopped)
        redeploy_head(lab, "moderation")
        host.run("rm -rf /srv/pakashop")
    assert host.file("/opt/pakashop/moderation/current").linked_to.startswith("/opt/pakashop/moderation/releases/")
    assert lab.serving("moderation") == {name: [lab.built_from("moderation")]}
    assert lab.serves("moderation") == {name: lab.head("main")}
