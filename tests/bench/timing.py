"""Time ansible runs against the lab: one run, and the median of several."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def timed(argv, env=None, log=None):
    """Run argv in the checkout; (seconds, rc)."""
    started = time.monotonic()
    with open(log or os.devnull, "w", encoding="utf-8") as out:
        rc = subprocess.run(argv, cwd=CHECKOUT, env={**os.environ, **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    return round(time.monotonic() - started, 1), rc


def playbook(name, *args, env=None, log=None):
    return timed([str(BIN / "ansible-playbook"), f"playbooks/{name}", *args], env=env, log=log)


def median_of(runs, measure):
    """Call measure() `runs` times; the median seconds, every run, and whether all passed."""
    samples = [measure() for run in range(runs)]
    seconds = [s for s, rc in samples]
    return {"median_s": round(statistics.median(seconds), 1), "runs_s": seconds,
            "all_ok": all(rc == 0 for s, rc in samples)}
