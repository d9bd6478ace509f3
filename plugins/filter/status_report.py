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
  - Drift is hosts of one environment running different commits of a service, an
    environment running a service on a commit that another environment does not, and an
    environment whose frontend serves another commit than its backend runs.
  - With O(frontend), also the frontend half per environment, read from Vercel, with the
    newest deployment (commit, state, URL, age) and the commit of the newest READY one, which
    is the one that serves.
positional: _input
options:
  _input:
    description: Every host's rows.
    type: list
    elements: dict
    required: true
  frontend:
    description:
      - The results of M(pakashop.infra.vercel_deployment_info), one per environment, each
        with the environment in C(item) (as a registered loop gives them); a failed one's
        C(msg) is shown instead.
    type: list
    elements: dict
"""

EXAMPLES = r"""
- name: Print the status table
  ansible.builtin.debug:
    msg: "{{ (rows | pakashop.infra.status_report).table }}"

- name: Both halves, with the frontend read from Vercel per environment
  ansible.builtin.debug:
    msg: "{{ (rows | pakashop.infra.status_report(frontend=vercel_reads.results)).table }}"
"""

RETURN = r"""
_value:
  description: >-
    C(table) (text), C(markdown) (text), C(drift) (sentences), C(healthy) (whether every
    deployed service is healthy), C(unhealthy) (C(host/service) of those that are not), C(rows),
    and C(frontend), per environment C(environment), C(commit), C(state), C(url), C(age),
    C(created_at), C(serving) (the commit of the newest READY deployment) and C(error);
    C(frontend_problems), what keeps an environment's frontend from being verified (its newest
    deployment not READY, or serving another commit than the backend runs).
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


FRONTEND_COLUMNS = ("environment", "commit", "state", "url", "age", "serving")


def age(seconds):
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def frontend_rows(results):
    """Per environment, the newest Vercel deployment and the one that serves."""
    found = []
    for result in results or []:
        environment = result.get("item")
        if result.get("skipped"):
            continue
        if result.get("failed"):
            found.append({"environment": environment, "commit": None, "state": "UNKNOWN", "url": None,
                          "age": None, "created_at": None, "serving": None, "error": result.get("msg")})
            continue
        deployments = result.get("deployments") or []
        newest = deployments[0] if deployments else None
        serving = next((d for d in deployments if d.get("state") == "READY"), None)
        found.append({"environment": environment, "commit": newest and newest.get("commit"),
                      "state": newest["state"] if newest else "MISSING", "url": newest and newest.get("url"),
                      "age": newest and newest.get("age_seconds"), "created_at": newest and newest.get("created_at"),
                      "serving": serving and serving.get("commit"), "error": None})
    return sorted(found, key=lambda f: f["environment"] or "")


def frontend_drift(rows, frontend):
    drift = []
    for f in frontend:
        backend = sorted({r["commit"] for r in rows if r["environment"] == f["environment"] and r.get("commit")})
        if f["serving"] and backend and f["serving"] not in backend:
            drift.append(f"{f['environment']}: the frontend serves {f['serving'][:10]} and the backend runs "
                         f"{', '.join(c[:10] for c in backend)}")
    return drift


def frontend_problems(frontend, drift):
    """What keeps each environment's frontend from being verified, one sentence each."""
    problems = []
    for f in frontend:
        env = f["environment"]
        if f["error"]:
            problems.append(f"the {env} frontend could not be read ({f['error']})")
        elif f["state"] == "MISSING":
            problems.append(f"the {env} frontend has no deployment on Vercel")
        elif f["state"] != "READY":
            problems.append(f"the {env} frontend's newest deployment ({(f['commit'] or '-')[:10]}) is {f['state']}")
    return problems + drift


def _frontend_cells(frontend):
    return [[f["environment"] or "-", (f["commit"] or "-")[:10], f["state"], f["url"] or f["error"] or "-",
             age(f["age"]), (f["serving"] or "-")[:10]] for f in frontend]


def _table(columns, cells):
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*line).rstrip() for line in [columns] + cells)


def _markdown(columns, cells):
    return (["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            + ["| " + " | ".join(line) + " |" for line in cells])


def status_report(rows, frontend=None):
    rows = sorted(rows, key=lambda r: (r["environment"], r["service"], r["host"]))
    cells = [[str(_short(r)[c]) for c in COLUMNS] for r in rows]
    table = _table(COLUMNS, cells)
    fronts = frontend_rows(frontend)
    drift = find_drift(rows) + frontend_drift(rows, fronts)
    markdown = _markdown(COLUMNS, cells)
    if fronts:
        front_cells = _frontend_cells(fronts)
        table += "\n\nFrontend (Vercel):\n" + _table(FRONTEND_COLUMNS, front_cells)
        markdown += ["", "**Frontend (Vercel)**", ""] + _markdown(FRONTEND_COLUMNS, front_cells)
    markdown = "\n".join(markdown + ([""] + ["**Drift**", ""] + [f"- {d}" for d in drift] if drift else [])) + "\n"
    return {"table": table, "markdown": markdown, "drift": drift, "rows": rows, "frontend": fronts,
            "frontend_problems": frontend_problems(fronts, frontend_drift(rows, fronts)),
            "healthy": all(r.get("healthy") for r in rows if r.get("release")),
            "unhealthy": [f"{r['host']}/{r['service']}" for r in rows
                          if r.get("release") and not r.get("healthy")]}


class FilterModule:
    def filters(self):
        return {"status_report": status_report}
