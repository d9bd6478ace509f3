"""report_targets and report_rows: what verify and status ask each service of a host,
and the rows they make of the answers (release_info and service_health, one call each)."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.filter.report_rows import report_rows
from ansible_collections.pakashop.infra.plugins.filter.report_targets import report_targets

CATALOG = {"api": {"port": 8100, "instances": 2, "source_path": "api"},
           "notifications": {"readiness": "notify", "source_path": "notifications"}}
OLD = "a" * 40
NEW = "b" * 40
LATER = "c" * 40


def releases(service, current="r2", ledger=None):
    """One service as release_info's `services` returns it: r1 (OLD) and r2 (NEW), r2 current."""
    ledger = ledger if ledger is not None else [
        {"release": "r1", "action": "activate", "time": "2026-12-01T10:00:00Z", "actor": "bob"},
        {"release": "r2", "action": "activate", "time": "2026-12-07T01:02:03Z", "actor": "alice"},
        {"release": "r2", "action": "confirm", "time": "2026-12-07T01:02:09Z", "actor": "alice"},
        {"release": "r2", "action": "serve", "time": "2026-12-07T02:00:00Z", "serves": LATER}]
    return {"service": service, "current": current, "serves": LATER, "ledger": ledger,
            "releases": [{"id": "r1", "commit": OLD, "current": current == "r1"},
                         {"id": "r2", "commit": NEW, "current": current == "r2"}]}


def test_a_target_expects_the_commit_the_release_was_built_from_and_reads_the_journal_since_its_activation():
    api, notifications = report_targets([releases("api"), releases("notifications", current="r1")], CATALOG)
    assert (api["service"], api["instances"], api["port"], api["readiness"]) == ("api", 2, 8100, "http")
    assert api["expected_version"] == NEW  # built from NEW; it serves LATER, which it never reports
    assert api["since"] == "2026-12-07 01:02:03 UTC"  # the activation, not the confirm or the serve
    assert (notifications["readiness"], notifications["expected_version"]) == ("notify", OLD)
    assert notifications["since"] == "2026-12-01 10:00:00 UTC"
    assert "after" not in api  # service_health takes no order


def test_a_service_with_no_release_is_asked_for_any_version_since_it_started():
    target, = report_targets([releases("api", current=None, ledger=[])], CATALOG)
    assert "expected_version" not in target and "since" not in target


def test_a_service_the_catalog_lacks_is_named():
    with pytest.raises(AnsibleFilterError, match="has no service 'web'"):
        report_targets([releases("web")], CATALOG)


def health(service, healthy=True):
    return {"service": service, "healthy": healthy, "verdicts": [f"{service}: ok"],
            "instances": [{"n_restarts": 1, "journal_count": 2, "journal": ["x", "y"]},
                          {"n_restarts": 0, "journal_count": 0, "journal": []}]}


def test_rows_join_each_service_by_name_whatever_the_order():
    rows = report_rows([health("notifications", healthy=False), health("api")],
                       [releases("api"), releases("notifications")], "stg-1", "staging")
    assert [(r["service"], r["healthy"]) for r in rows] == [("api", True), ("notifications", False)]
    api = rows[0]
    assert (api["host"], api["environment"], api["release"]) == ("stg-1", "staging", "r2")
    assert (api["commit"], api["built_from"]) == (LATER, NEW)
    assert (api["activated_at"], api["actor"]) == ("2026-12-07T01:02:03Z", "alice")
    assert (api["restarts"], api["journal_count"], api["journal"]) == (1, 2, ["x", "y"])


def test_a_service_without_a_health_result_is_named():
    with pytest.raises(AnsibleFilterError, match="no health result for notifications"):
        report_rows([health("api")], [releases("api"), releases("notifications")], "stg-1", "staging")
