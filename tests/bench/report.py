"""The bench report: JSON with every run, Markdown with the medians and aims."""

import json
import os
import time


def _ratio(results, a, b):
    try:
        return round(results["deploy"][a]["median_s"] / results["deploy"][b]["median_s"], 2)
    except (KeyError, ZeroDivisionError):
        return None


def aims(results):
    scale = results.get("scaling", {})
    eight = scale.get("8 hosts", {}).get("median_s")
    two = scale.get("2 hosts", {}).get("median_s")
    return [("no-change redeploy < 1/3 of a changed deploy", _ratio(results, "no-change redeploy", "changed deploy"),
             1 / 3),
            ("fast rollback < 1/4 of a changed deploy", _ratio(results, "fast rollback", "changed deploy"), 0.25),
            ("8 hosts < 1.5x 2 hosts", round(eight / two, 2) if eight and two else None, 1.5)]


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
    for section, rows in results.items():
        if section == "machine" or not isinstance(rows, dict):
            continue
        lines += [f"## {section}", "", "| what | median s | CPU s | runs | all ok |", "|---|---|---|---|---|"]
        for name, value in rows.items():
            for label, m in (value.items() if "median_s" not in value else [("", value)]):
                lines.append(f"| {name} {label} | {m['median_s']} | {m.get('median_cpu_s', '')} | "
                             f"{m['runs_s']} | {m['all_ok']} |")
        lines.append("")
    lines += ["## aims", "", "| aim | measured | met |", "|---|---|---|"]
    for name, measured, limit in aims(results):
        lines.append(f"| {name} | {measured} | {'yes' if measured is not None and measured < limit else 'no'} |")
    (directory / "bench.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
