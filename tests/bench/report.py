"""The bench report: JSON with every run, Markdown with the medians and aims."""

import itertools
import json
import os
import statistics
import time
from collections import defaultdict

# Sections of the results that hold no measurements.
NOT_MEASURED = ("machine", "profile")
TOP_TASKS = 12
# The figure for a changed deploy today (17-19 CPU s per host): the aim is half.
CPU_PER_HOST_BEFORE = 18


def measurements(results):
    """(section, what, measurement) for every measurement: a row of a section,
    or its "on" and "off" when it has both."""
    for section, rows in results.items():
        if section in NOT_MEASURED or not isinstance(rows, dict):
            continue
        for name, value in rows.items():
            for label, m in (value.items() if "median_s" not in value else [("", value)]):
                yield section, f"{name} {label}".strip(), m


def failed_runs(results):
    """'section: what' of every measurement with a run that failed."""
    return [f"{section}: {what}" for section, what, m in measurements(results) if not m["all_ok"]]


def _median(results, section, name):
    """The median seconds of a measurement whose runs all passed; None when it
    is missing or a run failed (a failed run's time says nothing)."""
    measured = results.get(section, {}).get(name)
    return measured["median_s"] if measured and measured["all_ok"] else None


def _ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


def cpu_per_host(measured):
    """A run's CPU seconds per staging host deployed (None without the host count)."""
    return round(measured["median_cpu_s"] / measured["hosts"], 1) if measured.get("hosts") else None


def step_kind(step):
    """A step of a call as the profile sums it: each wave's restart and gates as "waves"."""
    return "waves (restarts and gates)" if step.startswith("wave ") else step


def profile(tasks):
    """Where a run's time went: task ends ({host, task, seconds, steps}) summed per task
    name (the TOP_TASKS longest) and per host (how many tasks, i.e. round trips), and the
    steps the calls report of themselves summed per kind (inside the activation calls)."""
    per_task, per_host = defaultdict(lambda: [0, 0.0]), defaultdict(lambda: [0, 0.0])
    steps = defaultdict(float)
    for end in tasks:
        for row in (per_task[end["task"]], per_host[end["host"]]):
            row[0] += 1
            row[1] += end["seconds"]
        for step in end.get("steps") or []:
            steps[step_kind(step["step"])] += step["seconds"]
    total = sum(seconds for _calls, seconds in per_task.values())
    top = sorted(per_task.items(), key=lambda item: -item[1][1])[:TOP_TASKS]
    return {"task_seconds": round(total, 1),
            "hosts": {host: {"tasks": calls, "seconds": round(seconds, 1)} for host, (calls, seconds) in sorted(per_host.items())},
            "top": [{"task": task, "calls": calls, "seconds": round(seconds, 1),
                     "share": round(seconds / total, 3) if total else 0} for task, (calls, seconds) in top],
            "inside": {kind: round(seconds, 2) for kind, seconds in sorted(steps.items(), key=lambda i: -i[1])}}


FLOOR = "floor: the same work by a bare ssh script (floor.py)"


def aims(results):
    """(aim, measured ratio or None, limit)."""
    changed = _median(results, "deploy", "changed deploy")
    floor = _median(results, "deploy", FLOOR)
    return [("changed deploy < 4x the floor", _ratio(changed, floor), 4),
            ("no-change redeploy < 2x the floor", _ratio(_median(results, "deploy", "no-change redeploy"), floor), 2),
            ("fast rollback < 3x the floor", _ratio(_median(results, "deploy", "fast rollback"), floor), 3),
            ("a commit to api/ only < 0.5x a changed deploy",
             _ratio(_median(results, "deploy", "a commit to api/ only"), changed), 0.5),
            (f"CPU s per host of a changed deploy < half of {CPU_PER_HOST_BEFORE} (the issue's figure)",
             _cpu_per_host(results, "deploy", "changed deploy"), CPU_PER_HOST_BEFORE / 2),
            ("8 hosts < 1.5x 2 hosts",
             _ratio(_median(results, "scaling", "8 hosts"), _median(results, "scaling", "2 hosts")), 1.5)]


def _cpu_per_host(results, section, name):
    measured = results.get(section, {}).get(name)
    return cpu_per_host(measured) if measured and measured["all_ok"] else None


def profile_lines(profiles):
    lines = ["## where the time goes", "",
             "The last run of each kind, from ansible-runner's task events: the seconds each task took, summed over "
             "the hosts it ran on (run_once tasks count once); the longest tasks, then the tasks per host (each one "
             "at least one round trip to the host).", ""]
    for kind, summary in profiles.items():
        if not summary["top"]:
            continue
        hosts = ", ".join(f"{host} {row['tasks']} tasks / {row['seconds']} s" for host, row in summary["hosts"].items())
        lines += [f"### {kind}", "", f"Task seconds in all: {summary['task_seconds']}; per host: {hosts}.", "",
                  "| task | calls | seconds | share |", "|---|---|---|---|"]
        lines += [f"| {row['task']} | {row['calls']} | {row['seconds']} | {row['share']:.0%} |" for row in summary["top"]]
        if summary.get("inside"):
            lines += ["", "Inside the calls that report their steps (release_activate, all hosts): "
                      + ", ".join(f"{kind} {seconds} s" for kind, seconds in summary["inside"].items()) + "."]
        lines.append("")
    return lines


def _shown(value):
    return "-" if value is None else value


def write(directory, results):
    directory.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    results["machine"] = {"cores": os.cpu_count(), "loadavg_end": [round(x, 2) for x in load],
                          "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (directory / "bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Bench ({results['machine']['when']}, {os.cpu_count()} cores, load average at the end "
             f"{load[0]:.2f})", "", "Medians of the runs, in seconds (every run in bench.json). CPU s: the CPU seconds "
             "a run cost, on the controller (ansible, ssh) and on the lab's hosts (their cgroups), whatever else "
             f"the machine ran meanwhile; at CPU s = {os.cpu_count()} x median s a run had the machine's "
             f"{os.cpu_count()} cores to itself and was bound by them. Load: the machine's 1-minute load average "
             "as each run began (its median).", ""]
    for section, rows in itertools.groupby(measurements(results), key=lambda row: row[0]):
        lines += [f"## {section}", "", "| what | median s | CPU s | CPU s per host | load (1 min) | runs | all ok |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {what} | {m['median_s']} | {m.get('median_cpu_s', '')} | {_shown(cpu_per_host(m))} | "
                  f"{_shown(statistics.median(m['load_1m']) if m.get('load_1m') else None)} | {m['runs_s']} | {m['all_ok']} |"
                  for _section, what, m in rows]
        lines.append("")
    failed = failed_runs(results)
    lines += ["## aims", ""] + ([f"Not measured from a measurement with a failed run: {', '.join(failed)}.", ""]
                                if failed else []) + ["| aim | measured | met |", "|---|---|---|"]
    for name, measured, limit in aims(results):
        shown = "-" if measured is None else measured
        lines.append(f"| {name} | {shown} | {'yes' if measured is not None and measured < limit else 'no'} |")
    lines += [""] + profile_lines(results.get("profile", {}))
    (directory / "bench.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
