"""Time ansible runs against the lab: one run, and the median of several."""

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT))
from lab.config import lab_hosts, load_config  # noqa: E402  pylint: disable=wrong-import-position
from lab.driver import PlaybookRun  # noqa: E402  pylint: disable=wrong-import-position
from lab.hosts import CGROUP_ROOTS  # noqa: E402  pylint: disable=wrong-import-position

CGROUP_V2 = CGROUP_ROOTS[1]  # the unified hierarchy, whose cpu.stat counts each host's CPU


def run_cpu_seconds():
    """CPU seconds spent so far by this process's finished children (the
    controller's side of a run: ansible-playbook, its forks, ssh, the floor's
    script) and by the lab's hosts (their cgroups' usage): what a run costs,
    whatever else the machine runs meanwhile."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    hosts = 0
    for host in lab_hosts(load_config()):
        try:
            stat = (CGROUP_V2 / host.cgroup / "cpu.stat").read_text()
        except OSError:  # a host that is not running
            continue
        hosts += int(next(line.split()[1] for line in stat.splitlines() if line.startswith("usage_usec")))
    return children.ru_utime + children.ru_stime + hosts / 1e6


def timed(argv, env=None, log=None):
    """Run argv in the checkout; (seconds, rc, CPU seconds of the run)."""
    started, busy = time.monotonic(), run_cpu_seconds()
    with open(log or os.devnull, "w", encoding="utf-8") as out:
        rc = subprocess.run(argv, cwd=CHECKOUT, env={**os.environ, **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    return round(time.monotonic() - started, 1), rc, round(run_cpu_seconds() - busy, 1)


def playbook(name, *args, env=None, log=None, profile=None):
    """Run playbooks/<name> with the lab's driver; (seconds, rc, CPU seconds of the run).
    A list given as profile gets the run's task ends ({host, task, seconds}) in place
    of what it held."""
    started, busy = time.monotonic(), run_cpu_seconds()
    run = PlaybookRun(name, *args, env=env, log=log).wait()
    if profile is not None:
        profile[:] = run.tasks
    return round(time.monotonic() - started, 1), run.rc, round(run_cpu_seconds() - busy, 1)


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
