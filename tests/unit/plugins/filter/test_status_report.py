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


def deployment(commit, state, age=60):
    return {"id": "dpl_1", "commit": commit, "state": state, "url": f"https://web-{commit[:4]}.vercel.app",
            "age_seconds": age, "created_at": "2026-12-01T10:00:00Z"}


def vercel(environment, *deployments, failed=None):
    if failed:
        return {"item": environment, "failed": True, "msg": failed}
    return {"item": environment, "deployments": list(deployments)}


def test_the_frontend_half_is_shown_per_environment():
    report = status_report([row("staging", "api", "stg-1", "a" * 40)],
                           frontend=[vercel("staging", deployment("a" * 40, "READY", age=240))])
    assert report["frontend"] == [{"environment": "staging", "commit": "a" * 40, "state": "READY",
                                   "url": "https://web-aaaa.vercel.app", "age": 240,
                                   "created_at": "2026-12-01T10:00:00Z", "serving": "a" * 40, "error": None}]
    front = report["table"].split("Frontend (Vercel):\n")[1].splitlines()
    assert front[0].split() == ["environment", "commit", "state", "url", "age", "serving"]
    assert front[1].split() == ["staging", "aaaaaaaaaa", "READY", "https://web-aaaa.vercel.app", "4m", "aaaaaaaaaa"]
    assert "**Frontend (Vercel)**" in report["markdown"] and report["drift"] == []


def test_a_frontend_on_another_commit_than_the_backend_is_drift():
    report = status_report([row("staging", "api", "stg-1", "a" * 40)],
                           frontend=[vercel("staging", deployment("b" * 40, "READY"))])
    assert report["drift"] == ["staging: the frontend serves bbbbbbbbbb and the backend runs aaaaaaaaaa"]


def test_the_newest_ready_deployment_is_what_serves_while_a_newer_one_builds():
    report = status_report([row("staging", "api", "stg-1", "a" * 40)],
                           frontend=[vercel("staging", deployment("b" * 40, "BUILDING", age=5),
                                            deployment("a" * 40, "READY", age=600))])
    assert (report["frontend"][0]["state"], report["frontend"][0]["serving"]) == ("BUILDING", "a" * 40)
    assert report["drift"] == []


def test_an_environment_without_a_deployment_or_whose_read_failed_says_so():
    report = status_report([row("staging", "api", "stg-1", "a" * 40)],
                           frontend=[vercel("staging"), vercel("production", failed="cannot reach Vercel's API")])
    states = {f["environment"]: (f["state"], f["error"]) for f in report["frontend"]}
    assert states == {"staging": ("MISSING", None), "production": ("UNKNOWN", "cannot reach Vercel's API")}
    assert "cannot reach Vercel's API" in report["table"] and report["drift"] == []


def test_without_the_frontend_the_report_is_as_before():
    report = status_report([row("staging", "api", "stg-1", "a" * 40)])
    assert "Frontend" not in report["table"] and report["frontend"] == []
