# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: status_report
short_description: The status of environments, services and hosts as a table, Markdown and drift
version_added: 0.1.0
description:
  - Turns the rows of P(pakashop.infra.report_rows#filter) from every host into a text
    table for the terminal, the same as Markdown, and the drift found.
  - Drift is hosts of one environment running different commits of a service, and an
    environment running a service on a commit that another environment does not.
positional: _input
options:
  _input:
    description: Every host's rows.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Print the status table
  ansible.builtin.debug:
    msg: "{{ (rows | pakashop.infra.status_report).table }}"
"""

RETURN = r"""
_value:
  description: >-
    C(table) (text), C(markdown) (text), C(drift) (sentences), C(healthy) (whether every
    deployed service is healthy), C(unhealthy) (C(host/service) of those that are not) and C(rows).
  type: dict
"""

COLUMNS = ("environment", "service", "host", "commit", "release", "activated_at", "actor", "health")


def _health(row):
    if not row.get("release"):
        return "not deployed"
    return "ok" if row.get("healthy") else "UNHEALTHY"


def _short(row):
    return {**row, "commit": (row.get("commit") or "-")[:10], "health": _health(row),
            **{k: row.get(k) or "-" for k in ("release", "activated_at", "actor")}}


def find_drift(rows):
    drift = []
    by_env_service = {}
    for row in rows:
        by_env_service.setdefault((row["environment"], row["service"]), {})[row["host"]] = row.get("commit")
    for (env, service), hosts in sorted(by_env_service.items()):
        commits = sorted({c or "none" for c in hosts.values()})
        if len(commits) > 1:
            detail = ", ".join(f"{h} {(c or 'none')[:10]}" for h, c in sorted(hosts.items()))
            drift.append(f"{env}/{service}: hosts run different commits ({detail})")
    environments = sorted({r["environment"] for r in rows})
    services = sorted({r["service"] for r in rows})
    for service in services:
        running = {env: {c for (e, s), hosts in by_env_service.items() if e == env and s == service
                         for c in hosts.values() if c} for env in environments}
        present = {env: commits for env, commits in running.items() if commits}
        if len(present) > 1 and len({frozenset(c) for c in present.values()}) > 1:
            detail = "; ".join(f"{env} runs {', '.join(sorted((c or 'none')[:10] for c in commits))}"
                               for env, commits in sorted(present.items()))
            drift.append(f"{service}: environments differ ({detail})")
    return drift


def status_report(rows):
    rows = sorted(rows, key=lambda r: (r["environment"], r["service"], r["host"]))
    cells = [[str(_short(r)[c]) for c in COLUMNS] for r in rows]
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(COLUMNS)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    table = "\n".join(fmt.format(*line).rstrip() for line in [COLUMNS] + cells)
    drift = find_drift(rows)
    markdown = "\n".join(
        ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        + ["| " + " | ".join(line) + " |" for line in cells]
        + ([""] + ["**Drift**", ""] + [f"- {d}" for d in drift] if drift else [])) + "\n"
    return {"table": table, "markdown": markdown, "drift": drift, "rows": rows,
            "healthy": all(r.get("healthy") for r in rows if r.get("release")),
            "unhealthy": [f"{r['host']}/{r['service']}" for r in rows
                          if r.get("release") and not r.get("healthy")]}


class FilterModule:
    def filters(self):
        return {"status_report": status_report}
