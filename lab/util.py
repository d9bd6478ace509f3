"""Small helpers shared by the lab's parts."""

import subprocess
import sys
import time


def log(message):
    print(f"[lab {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(argv, quiet=False, **kwargs):
    """Run a command; on failure stop the lab with the command's own words."""
    argv = [str(a) for a in argv]
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise SystemExit(f"lab: `{' '.join(argv)}` failed (rc={result.returncode}): "
                         f"{(result.stderr or result.stdout).strip()}")
    if not quiet and result.stdout.strip():
        print(result.stdout.strip(), file=sys.stderr)
    return result.stdout


def wait_until(predicate, timeout, interval=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
