"""One lab for the whole integration session: real systemd hosts, the local
EC2 endpoint and a bare origin, started fresh and brought down at the end.

The tests use a lab of their own (LAB_STATE, LAB_BRIDGE, LAB_SUBNET,
PAKASHOP_LAB_EC2_URL, PAKASHOP_LAB_FRONTEND_URL; the Makefile sets them) so a demo lab can stay up.
"""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
TEST_LAB = {"LAB_STATE": str(CHECKOUT / ".lab-test"), "LAB_BRIDGE": "br-pktest",
            "LAB_SUBNET": "10.213.1", "PAKASHOP_LAB_EC2_URL": "http://127.0.0.1:5056",
            "PAKASHOP_LAB_FRONTEND_URL": "http://127.0.0.1:5066",
            # One preview host, for test_preview.py (lab.yml starts none).
            "LAB_PREVIEW_HOSTS": "1"}
for _key, _value in TEST_LAB.items():
    os.environ.setdefault(_key, _value)
sys.path.insert(0, str(CHECKOUT))

from lab import driver  # noqa: E402
from lab.driver import BIN, CATALOG, LOCK_TABLE, STATE, PlaybookTimeout, Run  # noqa: E402,F401  pylint: disable=unused-import

# No playbook run of the suite takes this long unless it hangs (a deploy of
# staging from nothing takes about 90 s on this lab).
PLAYBOOK_TIMEOUT = 480


class Lab(driver.Lab):
    """The driver's lab, its playbook runs bounded by PLAYBOOK_TIMEOUT."""

    def playbook(self, playbook, *args, env=None, timeout=PLAYBOOK_TIMEOUT, log=None):
        """Run a playbook; a run past `timeout` seconds fails the test, naming it."""
        try:
            return super().playbook(playbook, *args, env=env, timeout=timeout, log=log)
        except PlaybookTimeout as exc:
            pytest.fail(str(exc))

    def while_locked(self, playbook, first, second):
        """Runs playbook with the args `first`; once it holds the staging deploy
        lock, runs it again with `second`. Returns (first run, second run)."""
        runs = []
        thread = threading.Thread(target=lambda: runs.append(self.playbook(playbook, *first)))
        thread.start()
        deadline = time.monotonic() + 300
        while self.lock("staging") is None and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        later = self.playbook(playbook, *second)
        thread.join()
        return runs[0], later


def _lab(*command):
    subprocess.run([sys.executable, "-m", "lab", *command], cwd=CHECKOUT, check=True)


@pytest.fixture(scope="session")
def staging(lab):
    """The lab with staging deployed at the head of main."""
    run = lab.playbook("deploy.yml", "-l", "staging")
    assert run.rc == 0, run.output[-3000:]
    return lab


@pytest.fixture(scope="session")
def lab():
    _lab("down")
    shutil.rmtree(STATE, ignore_errors=True)
    _lab("up")
    try:
        yield Lab()
    finally:
        if not os.environ.get("PAKASHOP_KEEP_LAB"):
            _lab("down")
