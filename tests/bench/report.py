"""The bench report: JSON with every run, Markdown with the medians and aims."""

import itertools
import json
import os
import time


def measurements(results):
    """(section, what, measurement) for every measurement: a row of a section,
    or its "on" and "off" when it has both."""
    for section, rows in results.items():
        if section == "machine" or not isinstance(rows, dict):
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


FLOOR = "floor: the same work by a bare ssh script (floor.py)"


def aims(results):
    """(aim, measured ratio or None, limit)."""
    changed = _median(results, "deploy", "changed deploy")
    floor = _median(results, "deploy", FLOOR)
    return [("changed deploy < 4x the floor", _ratio(changed, floor), 4),
            ("no-change redeploy < 2x the floor", _ratio(_median(results, "deploy", "no-change redeploy"), floor), 2),
            ("fast rollback < 3x the floor", _ratio(_median(results, "deploy", "fast rollback"), floor), 3),
            ("no-change redeploy < 1/3 of a changed deploy",
             _ratio(_median(results, "deploy", "no-change redeploy"), changed), 1 / 3),
            ("fast rollback < 1/4 of a changed deploy", _ratio(_median(results, "deploy", "fast rollback"), changed), 0.25),
            ("8 hosts < 1.5x 2 hosts",
             _ratio(_median(results, "scaling", "8 hosts"), _median(results, "scaling", "2 hosts")), 1.5)]


def write(directory, results):
    directory.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    results["machine"] = {"cores": os.cpu_count(), "loadavg_end": [round(x, 2) for x in load],
                          "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    (directory / "bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Bench ({results['machine']['when']}, {os.cpu_count()} cores, load average at the end "
             f"{load[0]:.2f})", "", "Medians of the runs, in seconds (every run in bench.json). CPU s: the seconds the "
             f"machine's {os.cpu_count()} cores were busy during a run, the lab's hosts included; "
             f"at CPU s = {os.cpu_count()} x median s the run was bound by the CPU.", ""]
    for section, rows in itertools.groupby(measurements(results), key=lambda row: row[0]):
        lines += [f"## {section}", "", "| what | median s | CPU s | runs | all ok |", "|---|---|---|---|---|"]
        lines += [f"| {what} | {m['median_s']} | {m.get('median_cpu_s', '')} | {m['runs_s']} | {m['all_ok']} |"
                  for _section, what, m in rows]
        lines.append("")
    failed = failed_runs(results)
    lines += ["## aims", ""] + ([f"Not measured from a measurement with a failed run: {', '.join(failed)}.", ""]
                                if failed else []) + ["| aim | measured | met |", "|---|---|---|"]
    for name, measured, limit in aims(results):
        shown = "-" if measured is None else measured
        lines.append(f"| {name} | {shown} | {'yes' if measured is not None and measured < limit else 'no'} |")
    (directory / "bench.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
