"""Time ansible runs against the lab: one run, and the median of several."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT))
from lab.driver import PlaybookRun  # noqa: E402  pylint: disable=wrong-import-position


def busy_cpu_seconds():
    """CPU seconds the whole machine (controller and lab hosts alike) spent
    busy since boot: /proc/stat's first line without idle and iowait."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(argv, env=None, log=None):
    """Run argv in the checkout; (seconds, rc, busy CPU seconds of the machine meanwhile)."""
    started, busy = time.monotonic(), busy_cpu_seconds()
    with open(log or os.devnull, "w", encoding="utf-8") as out:
        rc = subprocess.run(argv, cwd=CHECKOUT, env={**os.environ, **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    return round(time.monotonic() - started, 1), rc, round(busy_cpu_seconds() - busy, 1)


def playbook(name, *args, env=None, log=None, profile=None):
    """Run playbooks/<name> with the lab's driver; (seconds, rc, busy CPU seconds).
    A list given as profile gets the run's task ends ({host, task, seconds}) in place
    of what it held."""
    started, busy = time.monotonic(), busy_cpu_seconds()
    run = PlaybookRun(name, *args, env=env, log=log).wait()
    if profile is not None:
        profile[:] = run.tasks
    return round(time.monotonic() - started, 1), run.rc, round(busy_cpu_seconds() - busy, 1)


def median_of(runs, measure, hosts=None):
    """Call measure() `runs` times; the median seconds and busy CPU seconds,
    every run, the machine's load (1-minute average) as each run began, whether
    all passed, and the staging hosts deployed (for CPU seconds per host)."""
    loads, samples = [], []
    for _run in range(runs):
        loads.append(round(os.getloadavg()[0], 2))
        samples.append(measure())
    seconds = [s for s, rc, cpu in samples]
    return {"median_s": round(statistics.median(seconds), 1), "runs_s": seconds,
            "median_cpu_s": round(statistics.median(cpu for s, rc, cpu in samples), 1),
            "load_1m": loads, "hosts": hosts, "all_ok": all(rc == 0 for s, rc, cpu in samples)}
