"""What a chaos case counts as having happened, from what it saw: the deploys'
output, exit codes and changed counts, the deploy lock. Pure functions, no
lab, so that tests/unit/chaos/test_judge.py can check the judging itself."""

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from lab.driver import said  # noqa: E402  pylint: disable=wrong-import-position

# The deploy play starts once the plan took the environment's deploy lock.
DEPLOY_PLAY = "PLAY [Deploy] "
LOCK_TASK = "TASK [Take the environment's deploy lock"


def deploy_reached(output, host):
    """Whether the deploy play reached `host`: a line of its own after the play began.
    Its hosts go batch by batch (deploy_serial 1), so a host of a later batch shows
    only once the hosts before it activated, and just before its own activation."""
    return DEPLOY_PLAY in output and f"[{host}]" in output.split(DEPLOY_PLAY, 1)[1]


@dataclass
class Kill:
    """One SIGKILL sent `point` seconds into a deploy's deploy play."""
    point: float
    killed: bool            # it died of the SIGKILL, not of its own end
    returncode: int         # the deploy's, once it ended
    output: str             # everything it wrote
    lock_left: dict = None  # the deploy lock a few seconds after, None when it was gone

    @property
    def landed(self):
        """It died of the SIGKILL inside the deploy play (its lock held)."""
        return self.killed and DEPLOY_PLAY in self.output

    def describe(self):
        if self.landed:
            return f"{self.point:.0f}s"
        if not self.killed:
            return f"{self.point:.0f}s (missed: it ended before, rc {self.returncode})"
        return f"{self.point:.0f}s (missed: killed before the deploy play)"


def kill_checks(kills, length):
    """Each kill landed inside a deploy and its keeper released the lock at once."""
    landed = [k for k in kills if k.landed]
    left = [k for k in kills if k.lock_left]
    return [(f"{len(landed)}/{len(kills)} SIGKILLs landed inside the deploy play, at "
             f"{', '.join(k.describe() for k in kills)} of its {length:.0f} s", bool(kills) and landed == kills),
            (f"the lock was gone after {len(kills) - len(left)}/{len(kills)} kills (the keeper released it)"
             + "".join(f"; left: {k.lock_left['holder']}" for k in left), not left)]


@dataclass
class Run:
    returncode: int
    waited: float  # seconds from the start of its LOCK_TASK to its end; None if it never got there
    output: str
    changed: int   # changed tasks over every host (ansible-runner's stats); None without stats


def twin_checks(runs, lock, lock_timeout, retry_delay, environment="staging"):
    """Of two deploys started together, one deployed; the other waited for the
    lock (its timeout less one retry delay at least: it gives up when one more
    try would come too late) and was refused naming the lock's holder, having
    changed nothing. `lock`: the deploy lock as seen while both ran, or None."""
    refused = [r for r in runs if r.returncode != 0]
    loser = refused[0] if len(refused) == 1 else None
    refusal = said(loser.output) if loser else ""
    holder = f"{environment} is locked by another run, {lock['holder']} (run {lock['run_id']})" if lock else None
    return [("one deploy succeeded", [r.returncode for r in runs].count(0) == 1),
            (f"the other waited {loser.waited or 0:.1f} s for the lock" if loser else "the other waited for the lock",
             bool(loser) and (loser.waited or 0) >= lock_timeout - retry_delay),
            (f"and was refused naming the holder ({lock['holder'] if lock else 'no lock seen'})",
             bool(holder) and holder in refusal and f"and stayed locked for {lock_timeout} s" in refusal),
            ("the refused run changed nothing", bool(loser) and loser.changed == 0)]
