"""systemctl, journalctl and runuser for the gated modules' unit tests
(tests/unit/plugins/conftest.py puts them on PATH):
`systemd_stand_in.py systemctl|journalctl|runuser ARGS`.

$UNITS (JSON) says how systemd sees each unit, by name:
  show     the answers to its successive `systemctl show`, each a change to
           RUNNING; the last one repeats (so a unit can crash, or restart
           between two probes)
  phases   instead of show: one such list per start, the first before any
           `systemctl restart` of the unit, the next after the first restart,
           and so on (the last repeats): a release that crashes, then the
           previous one that comes back
  enabled  its `is-enabled` state (default "enabled"); null: systemctl knows
           no such unit and stops there
  restart  an error message that makes `systemctl restart` fail
  enable   an error message that makes `systemctl enable` fail when it names the unit
  journal  its records as `journalctl --output json` prints them; the stand-in
           keeps those of --priority or worse and, with --since @<unix time>, those
           whose __REALTIME_TIMESTAMP (microseconds) is not earlier, as journalctl does
  listed   its ActiveState in `systemctl list-units` (units without it are not
           loaded, so not listed)
systemctl and runuser log each call's arguments to $CALLS, one line each;
runuser then runs the command after `--` as the user running the tests.
"""

import fnmatch
import json
import os
import sys

RUNNING = {"ActiveState": "active", "SubState": "running", "NRestarts": "0", "MainPID": "42",
           "ActiveEnterTimestamp": "@1", "NeedDaemonReload": "no", "StatusText": "", "Job": ""}
PRIORITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]


def journalctl(args, units):
    worst = PRIORITIES.index(args[args.index("--priority") + 1])
    since = args[args.index("--since") + 1] if "--since" in args else ""
    start = int(float(since[1:]) * 1e6) if since.startswith("@") else 0  # only the @<unix time> form
    for record in units.get(args[args.index("--unit") + 1], {}).get("journal", []):
        if int(record.get("PRIORITY", 6)) <= worst and int(record.get("__REALTIME_TIMESTAMP", start)) >= start:
            print(json.dumps(record))
    return 0


def show(args, named, units, calls):
    wanted = [p for a in args if a.startswith("--property=") for p in a[len("--property="):].split(",")]
    blocks = []
    for unit in named:
        answers, asked = phase(unit, units, calls)
        answer = {**RUNNING, "Id": unit, **answers[min(asked, len(answers)) - 1]}
        blocks.append("".join(f"{p}={answer[p]}\n" for p in wanted))
    print("\n".join(blocks), end="")
    return 0


def phase(unit, units, calls):
    """The show answers of the unit's current phase, and how many were asked in it (this call included)."""
    spec = units.get(unit, {})
    if "phases" not in spec:
        return spec.get("show", [{}]), sum(line.startswith("show ") and unit in line.split() for line in calls)
    starts = [i for i, line in enumerate(calls) if line.startswith("restart ") and unit in line.split()]
    answers = spec["phases"][min(len(starts), len(spec["phases"]) - 1)]
    since = starts[-1] + 1 if starts else 0
    return answers, sum(unit in line.split() and line.startswith("show ") for line in calls[since:])


def is_enabled(args, named, units):
    rc = 0
    for unit in named:
        state = units.get(unit, {}).get("enabled", "enabled")
        if state is None:
            print(f"Failed to get unit file state for {unit}: No such file or directory", file=sys.stderr)
            return 1
        if "--quiet" not in args:
            print(state)
        rc = rc or int(state != "enabled")
    return rc


def systemctl(args, units):
    with open(os.environ["CALLS"], "a", encoding="utf-8") as log:
        log.write(" ".join(args) + "\n")
    with open(os.environ["CALLS"], encoding="utf-8") as log:
        calls = log.read().splitlines()
    named = [a for a in args[1:] if not a.startswith("-")]
    if args[0] == "show":
        return show(args, named, units, calls)
    if args[0] == "is-enabled":
        return is_enabled(args, named, units)
    if args[0] == "list-units":
        for unit, spec in units.items():
            if "listed" in spec and any(fnmatch.fnmatch(unit, pattern) for pattern in named):
                print(f"{unit} loaded {spec['listed']} running Pakashop")
        return 0
    error = units.get(named[0], {}).get("restart") if args[0] == "restart" else None
    if args[0] == "enable":
        error = next((units[u]["enable"] for u in named if units.get(u, {}).get("enable")), None)
    if error:
        print(error, file=sys.stderr)
        return 1
    return 0


def runuser(args):
    with open(os.environ["CALLS"], "a", encoding="utf-8") as log:
        log.write("runuser " + " ".join(args) + "\n")
    command = args[args.index("--") + 1:]
    os.execvp(command[0], command)


def main():
    program, args = sys.argv[1], sys.argv[2:]
    if program == "runuser":
        return runuser(args)
    with open(os.environ["UNITS"], encoding="utf-8") as spec:
        units = json.load(spec)
    return journalctl(args, units) if program == "journalctl" else systemctl(args, units)


if __name__ == "__main__":
    sys.exit(main())
