"""tests/chaos/report.py and the load's summary: each case's row names what was
expected, what happened and its failed/total requests; latency comes per
phase with p50, p99 and max; the no-retries case's catalog changes only the
gateway's env."""

import yaml


def samples_of(sample, latencies, error_at=None):
    """Samples due one second apart."""
    return [sample(float(i), latency, "ReadTimeout" if i == error_at else "") for i, latency in enumerate(latencies)]


def test_a_row_names_expected_actual_and_failed_of_total(scripts, tmp_path):
    chaos = scripts("chaos", "cases", "report")
    result = chaos.cases.Result("a release that crashes at start", "deploy fails, 0 failed requests",
                                "FAILED: it was reverted; 3 request errors (ReadTimeout)", False, 3, 8152)
    out = tmp_path / "chaos.md"
    chaos.report.write(out, [result], 120)
    text = out.read_text()
    assert "| case | expected | actual | failed / total requests | verdict |" in text
    assert ("| a release that crashes at start | deploy fails, 0 failed requests | FAILED: it was reverted; "
            "3 request errors (ReadTimeout) | 3 / 8152 | FALLS SHORT |") in text
    assert "load average at the end" in text


def test_latency_per_phase_has_p50_p99_and_max(scripts, tmp_path):
    chaos = scripts("chaos", "cases", "report", "load")
    samples = samples_of(chaos.load.Sample, [0.004] * 98 + [0.2, 1.5], error_at=99)
    phases = chaos.cases.phases_of(samples, 50, 90)
    assert phases["during"]["requests"] == 40 and phases["after"]["max_ms"] == 1500.0
    assert phases["after"]["errors"] == 1 and phases["before"]["p99_ms"] == 4.0
    result = chaos.cases.Result("every service", "0 failed", "ok", True, 1, 100, phases)
    out = tmp_path / "chaos.md"
    chaos.report.write(out, [result], 120)
    assert "| phase | failed / total | p50 ms | p99 ms | max ms |" in out.read_text()
    assert "| after | 1 / 10 | 4.0 | 1500.0 | 1500.0 |" in out.read_text()


def test_the_no_retries_catalog_changes_the_gateway_s_env_alone(scripts, tmp_path):
    lab_ops = scripts("chaos", "lab_ops").lab_ops
    path = lab_ops.Lab.catalog_file(tmp_path / "vars.yml", "gateway", {"GATEWAY_UPSTREAM_RETRIES": "0"})
    catalog = yaml.safe_load(path.read_text())["pakashop_service_catalog"]
    assert catalog["gateway"]["env"] == {"GATEWAY_UPSTREAM_RETRIES": "0"}
    rest = {k: v for k, v in catalog["gateway"].items() if k != "env"}
    assert rest == {k: v for k, v in lab_ops.driver.CATALOG["gateway"].items() if k != "env"}
    assert {k: v for k, v in catalog.items() if k != "gateway"} == \
        {k: v for k, v in lab_ops.driver.CATALOG.items() if k != "gateway"}
    assert "env" not in lab_ops.driver.CATALOG["gateway"]  # the lab's own catalog is left as it is


def test_the_gateway_s_retries_are_read_from_its_processes_alone(scripts):
    cases = scripts("chaos", "cases").cases
    gateway = {"pid": "7", "version": "a", "environ": ["PATH=/usr/bin", "GATEWAY_UPSTREAM_RETRIES=0"]}
    api = {"pid": "8", "version": "a", "environ": ["GATEWAY_UPSTREAM_RETRIES=3"]}
    units = {("stg-1", "pakashop-gateway@1"): gateway, ("stg-1", "pakashop-api@1"): api}
    assert cases.gateway_retries(units) == ["GATEWAY_UPSTREAM_RETRIES=0"]
    del units[("stg-1", "pakashop-gateway@1")]
    assert cases.gateway_retries(units) == []
