from ansible_collections.pakashop.infra.plugins.filter.status_report import status_report


def row(env, service, host, commit, healthy=True, release="r"):
    return {"environment": env, "service": service, "host": host, "commit": commit,
            "release": release, "healthy": healthy, "activated_at": "t", "actor": "alice"}


def test_table_has_one_line_per_row_and_markdown_a_table():
    report = status_report([row("staging", "api", "stg-1", "a" * 40),
                            row("production", "api", "prd-1", "a" * 40)])
    lines = report["table"].splitlines()
    assert lines[0].split() == ["environment", "service", "host", "commit", "release",
                                "activated_at", "actor", "health"]
    assert lines[1].split()[:4] == ["production", "api", "prd-1", "aaaaaaaaaa"]
    assert report["markdown"].startswith("| environment | service |")
    assert report["drift"] == [] and report["healthy"] is True


def test_hosts_of_one_environment_on_different_commits_is_drift():
    report = status_report([row("staging", "api", "stg-1", "a" * 40),
                            row("staging", "api", "stg-2", "b" * 40)])
    assert report["drift"][0] == "staging/api: hosts run different commits (stg-1 aaaaaaaaaa, stg-2 bbbbbbbbbb)"
    assert "**Drift**" in report["markdown"]


def test_environments_on_different_commits_is_drift():
    report = status_report([row("staging", "api", "stg-1", "b" * 40),
                            row("production", "api", "prd-1", "a" * 40)])
    assert report["drift"] == ["api: environments differ (production runs aaaaaaaaaa; staging runs bbbbbbbbbb)"]


def test_unhealthy_and_not_deployed_are_told_apart():
    report = status_report([row("staging", "api", "stg-1", "a" * 40, healthy=False),
                            row("production", "api", "prd-1", None, healthy=False, release=None)])
    assert report["healthy"] is False
    assert report["unhealthy"] == ["stg-1/api"]
    assert "not deployed" in report["table"] and "UNHEALTHY" in report["table"]
