# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One change of a host's releases at a time.

The modules that change releases hold an exclusive flock on <root>/.pakashop.lock while
they work. A run whose controller died leaves its module running on the host (it
finishes its activation, or goes back); the next run's change waits for it here
instead of interleaving with it.

Private to the collection: only its modules import this.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time

LOCK_NAME = ".pakashop.lock"


class HostLockTimeout(Exception):
    pass


@contextlib.contextmanager
def host_lock(root, timeout=600, interval=0.5):
    os.makedirs(root, mode=0o755, exist_ok=True)
    path = os.path.join(root, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise HostLockTimeout(
                        f"another change of this host's releases has held {path} for over {timeout} s "
                        "(a run whose controller was lost finishes its work first): find it with "
                        f"`fuser {path}`, wait for it or stop it, then run again") from None
                time.sleep(interval)
        yield
    finally:
        os.close(fd)
