"""The chaos report: one Markdown table of cases, and the load's latency."""

import os
import platform
import time


def _phase_rows(phases):
    rows = ["| phase | failed / total | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|"]
    for name, p in phases.items():
        rows.append(f"| {name} | {p['errors']} / {p['requests']} | {p['p50_ms']} | {p['p99_ms']} | {p['max_ms']} |")
    return rows


def write(path, results, rate):
    load = os.getloadavg()
    lines = [f"# Chaos report ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
             f"Load on the staging gateway's /api/products at {rate} requests/s during each case. "
             f"Machine: {os.cpu_count()} cores, {platform.machine()}, load average at the end "
             f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.", "",
             "| case | expected | actual | failed / total requests | verdict |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.expected} | {r.happened} | {r.errors} / {r.requests} | "
                     f"{'ok' if r.ok else 'FALLS SHORT'} |")
    for r in results:
        if r.phases:
            lines += ["", f"## {r.name}: latency", ""] + _phase_rows(r.phases)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
