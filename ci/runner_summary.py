"""Markdown summary of one ansible-runner run, from its artifacts directory.

    python3 ci/runner_summary.py runner/artifacts/<ident> [--title "Deploy staging"]

Reads what ansible-runner wrote (``status``, ``rc``, ``job_events/*.json``,
``stdout``) and prints, for a person: whether the run succeeded, the play
recap per host, and every failed task with its host, the service and the gate
when a gate of a service failed, and the task's message. The workflows append it to
the job summary. It never reads ``command`` (ansible-runner writes the whole
process environment there) and prints only what the job events already hold,
in which Ansible has censored every ``no_log`` result.

A playbook may add a report of its own by ending with
``ansible.builtin.set_stats: {data: {pakashop_report: "<markdown>"}, per_host: false}``.
"""

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

# A service instance's unit, as the role names its restart and gate tasks.
UNIT = re.compile(r"\bpakashop-(?P<service>[a-z0-9][a-z0-9_-]*)@\d+")
# The gate a failed task of an instance checks, by the task's action, when its
# result does not say (pakashop.infra.service_health says, in failed_gates).
GATES = {
    "pakashop.infra.service_health": "health",
    "ansible.builtin.systemd_service": "start",
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
OUTCOMES = {"successful": "✅ {} succeeded", "failed": "❌ {} failed",
            "timeout": "⏱️ {} timed out", "canceled": "⏹️ {} was canceled"}
# The play recap's columns: the key in the stats event, and the header.
RECAP_COLUMNS = {"ok": "ok", "changed": "changed", "failures": "failed",
                 "dark": "unreachable", "skipped": "skipped", "rescued": "rescued"}
MESSAGE_LINES = 20
STDOUT_TAIL_LINES = 15


def read_text(path, default=""):
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return default


def load_events(artifact_dir):
    events = []
    for path in (artifact_dir / "job_events").glob("*.json"):
        events.append(json.loads(path.read_text(encoding="utf-8")))
    return sorted(events, key=lambda event: event["counter"])


def failure(event):
    """What one failed or unreachable task says: host, task, service, gate, message."""
    data = event["event_data"]
    result = data.get("res") or {}
    task = data.get("task") or ""
    first_failed = (result.get("failed_gates") or [{}])[0]
    unit = next(filter(None, (UNIT.search(str(text)) for text in (first_failed.get("unit"), task, result.get("msg")))), None)
    service = result.get("service") or (unit["service"] if unit else None)
    gate = (result.get("gate") or first_failed.get("gate")
            or (GATES.get(data.get("resolved_action") or data.get("task_action")) if unit else None))
    message = result.get("msg") or result.get("stderr") or result.get("censored") or ""
    return {"host": data.get("host"), "task": task, "service": service, "gate": gate,
            "message": ANSI.sub("", str(message)).strip()}


def failures(events):
    return [failure(event) for event in events
            if event["event"] == "runner_on_unreachable"
            or (event["event"] == "runner_on_failed" and not event["event_data"].get("ignore_errors"))]


def stats(events):
    return next((event["event_data"] for event in reversed(events) if event["event"] == "playbook_on_stats"), None)


def duration(events):
    if len(events) < 2:
        return None
    seconds = (datetime.fromisoformat(events[-1]["created"]) - datetime.fromisoformat(events[0]["created"])).total_seconds()
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def fenced(text, max_lines):
    lines = text.splitlines()
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines in the run's stdout)"]
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *lines, fence]


def recap_table(run_stats):
    hosts = sorted({host for key in RECAP_COLUMNS for host in run_stats.get(key, {})})
    rows = ["| host | " + " | ".join(RECAP_COLUMNS.values()) + " |",
            "|---" * (len(RECAP_COLUMNS) + 1) + "|"]
    for host in hosts:
        rows.append(f"| {host} | " + " | ".join(str(run_stats.get(key, {}).get(host, 0)) for key in RECAP_COLUMNS) + " |")
    return rows


def failure_lines(failed):
    lines = []
    for item in failed:
        named = [f"**{item['host']}**"]
        if item["service"]:
            named.append(f"service **{item['service']}**")
        if item["gate"]:
            named.append(f"gate **{item['gate']}** failed")
        lines.append(f"- {' · '.join(named)} — task `{item['task']}`")
        if item["message"]:
            lines.extend("  " + line for line in fenced(item["message"], MESSAGE_LINES))
    return lines


def render(artifact_dir, title=None):
    """The Markdown summary of the run whose artifacts are in artifact_dir."""
    events = load_events(artifact_dir)
    status = read_text(artifact_dir / "status", "unknown")
    playbook = next((event["event_data"].get("playbook") for event in events if event["event"] == "playbook_on_start"), None)
    name = title or (Path(playbook).name if playbook else "The run")
    details = [f"status `{status}`", f"rc {read_text(artifact_dir / 'rc', '?')}"]
    if duration(events):
        details.append(f"took {duration(events)}")
    lines = [f"### {OUTCOMES.get(status, '{} ended: ' + status).format(name)}", "", " · ".join(details), ""]

    run_stats = stats(events)
    if run_stats:
        lines += recap_table(run_stats) + [""]
    failed = failures(events)
    if failed:
        lines += ["#### Failed", ""] + failure_lines(failed) + [""]
    elif status != "successful":
        tail = ANSI.sub("", read_text(artifact_dir / "stdout")).replace("\r", "")
        lines += ["#### The end of the output", ""] + fenced("\n".join(tail.splitlines()[-STDOUT_TAIL_LINES:]), STDOUT_TAIL_LINES) + [""]
    report = (run_stats or {}).get("artifact_data", {}).get("pakashop_report")
    if report:
        lines += [str(report).strip(), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("artifact_dir", type=Path, help="runner/artifacts/<ident> of the run")
    parser.add_argument("--title", help="what the run did, e.g. 'Deploy staging' (default: the playbook's name)")
    args = parser.parse_args(argv)
    if not args.artifact_dir.is_dir():
        parser.error(f"{args.artifact_dir} is not a directory: give runner/artifacts/<ident> of a run")
    sys.stdout.write(render(args.artifact_dir, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
