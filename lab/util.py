"""Small helpers shared by the lab's parts."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen


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


class Daemon:
    """A server of the lab run as a process of its own session: its pid in a
    file of the lab's state folder, stopped by that pid and nothing broader."""

    what = "server"

    def __init__(self, pid_file, log_file, health_url):
        self.pid_file, self.log_file, self.health_url = Path(pid_file), Path(log_file), health_url

    def pid(self):
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def answering(self):
        try:
            with urlopen(self.health_url, timeout=1):
                return True
        except OSError:
            return False

    def launch(self, argv, timeout, **popen):
        """Start argv unless it already answers; wait until it does."""
        if self.pid() and self.answering():
            return
        with open(self.log_file, "ab") as out:
            proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True, **popen)
        self.pid_file.write_text(str(proc.pid))
        if not wait_until(self.answering, timeout, 0.1):
            raise SystemExit(f"lab: the {self.what} did not answer on {self.health_url}; see {self.log_file}")

    def stop(self):
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            if not wait_until(lambda: self.pid() is None, 10, 0.1):
                os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
