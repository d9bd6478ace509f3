"""The chaos cases. Each runs under load against the staging gateway and
returns a Result: what was expected, what happened, the request errors."""

import os
import random
import time
from dataclasses import dataclass, field

import judge
from lab_ops import EVERY_SERVICE, GOOD_API, STATE, api_with
from load import Load, summary

RATE = int(os.environ.get("CHAOS_RATE", "120"))
QUIET = float(os.environ.get("CHAOS_QUIET_SECONDS", "10"))  # load before and after a deploy


@dataclass
class Result:
    name: str
    expected: str
    happened: str
    ok: bool
    errors: int
    requests: int
    phases: dict = field(default_factory=dict)


class Loaded:
    """Load on the staging gateway for the length of a `with` block."""

    def __init__(self, lab):
        # The bound is a safety net far past any case (SIGKILL x10 took 15 min at load 12);
        # a case whose load ran out before it ended fails (verdict).
        self.load = Load(lab.gateway_url(), rate=RATE, max_requests=RATE * 3600, max_seconds=3600)
        self.samples = []

    def __enter__(self):
        self.load.start()
        return self

    def __exit__(self, *exc):
        self.samples = self.load.stop()

    @staticmethod
    def now():
        return time.monotonic()


def verdict(name, expected, checks, loaded, phases=None):
    """The case's Result; it fails when a check did, a request failed, or the
    load ran out before the case ended (so part of it ran without traffic)."""
    samples = loaded.samples
    checks = [*checks, ("" if not loaded.load.ran_out else
                        f"the load ran out after {loaded.load.max_seconds} s, before the case ended",
                        not loaded.load.ran_out)]
    failed = [what for what, good in checks if not good]
    total = summary(samples)
    ok = not failed and total["errors"] == 0
    happened = "; ".join(what for what, good in checks if what)
    if failed:
        happened = "FAILED: " + "; ".join(failed)
    if total["errors"]:
        happened += f"; {total['errors']} request errors ({', '.join(total['error_kinds'])})"
    return Result(name, expected, happened, ok, total["errors"], total["requests"], phases or {})


def rolling_deploy(lab):
    """A good api commit rolls through staging under load."""
    new = lab.commit_api(GOOD_API, "chaos: new api")
    with Loaded(lab) as loaded:
        time.sleep(QUIET)
        begin = loaded.now()
        rc = lab.deploy()[0]
        end = loaded.now()
        time.sleep(QUIET)
    samples = loaded.samples
    phases = phases_of(samples, begin, end)
    checks = [("deploy succeeded", rc == 0),
              ("every api instance serves the new commit", lab.all_api_on(new)),
              (f"{len(samples)} requests, {phases['during']['requests']} of them in {end - begin:.0f} s of deploy",
               len(samples) >= 3000)]
    return verdict("rolling deploy of a new api under load", "0 failed requests, every instance on the new commit",
                   checks, loaded, phases)


def phases_of(samples, begin, end):
    return {"before": summary(samples, end=begin), "during": summary(samples, begin, end),
            "after": summary(samples, begin=end)}


def gateway_retries(units):
    """The GATEWAY_UPSTREAM_RETRIES=... the gateway's processes run with (lab.units())."""
    return sorted({e for key, seen in units.items() if key[1].startswith("pakashop-gateway@")
                   for e in seen["environ"] if e.startswith("GATEWAY_UPSTREAM_RETRIES=")})


def every_service_no_retries(lab):
    """A commit to common/ moves every service, the gateway included, under
    load, with the gateway's retry-another-upstream off: what keeps requests
    from failing is the deploy (sockets, drain, gates), not the sample app."""
    no_retries = lab.catalog_file(STATE / "chaos-no-retries.yml", "gateway", {"GATEWAY_UPSTREAM_RETRIES": "0"})
    rc = lab.deploy("-e", f"@{no_retries}", services=EVERY_SERVICE)[0]
    before = lab.units()
    new = lab.commit_common("chaos: every service")
    with Loaded(lab) as loaded:
        time.sleep(QUIET)
        begin = loaded.now()
        rc = rc or lab.deploy("-e", f"@{no_retries}", services=EVERY_SERVICE)[0]
        end = loaded.now()
        time.sleep(QUIET)
    after = lab.units()
    samples = loaded.samples
    retries = gateway_retries(after)
    same_pid = sorted(f"{h} {u}" for (h, u), seen in after.items() if before.get((h, u), {}).get("pid") == seen["pid"])
    behind = sorted(f"{h} {u}" for (h, u), seen in after.items() if seen["version"] != new)
    checks = [("deploy succeeded", rc == 0),
              (f"the gateway ran with {', '.join(retries) or 'no GATEWAY_UPSTREAM_RETRIES'}",
               retries == ["GATEWAY_UPSTREAM_RETRIES=0"]),
              (f"every one of {len(after)} instances has a new PID" + (f" (not: {', '.join(same_pid)})" if same_pid
                                                                       else ""),
               bool(after) and not same_pid and set(after) == set(before)),
              ("every instance answers the new commit" + (f" (not: {', '.join(behind)})" if behind else ""),
               bool(after) and not behind),
              (f"{len(samples)} requests, {end - begin:.0f} s of deploy", len(samples) >= 3000)]
    # the gateway's retries back on for the cases after this one
    restored = lab.deploy(services="gateway")[0] == 0 and not gateway_retries(lab.units())
    checks.append(("the gateway redeployed with its retries back on", restored))
    return verdict("every service, the gateway's retries off", "0 failed of >= 3,000 requests, every instance "
                   "of every service restarted on the new commit", checks, loaded, phases_of(samples, begin, end))


def bad_release(lab, name, line):
    good = lab.head()
    if not lab.all_api_on(good):
        lab.deploy()
    lab.commit_api(api_with(line), f"chaos: {name}")
    with Loaded(lab) as loaded:
        rc, output = lab.deploy()
    checks = [("the deploy failed", rc != 0),
              ("it was reverted", "which is serving and healthy again" in output),
              ("every api instance still serves the previous commit", lab.all_api_on(good))]
    result = verdict(f"a release that {name}", "deploy fails, previous release serving, 0 failed requests",
                     checks, loaded)
    lab.commit_api(GOOD_API, "chaos: restore api")
    lab.deploy()
    return result


def crash_at_start(lab):
    return bad_release(lab, "crashes at start", "raise SystemExit('api: DATABASE_URL is not set')")


def health_never_ok(lab):
    return bad_release(lab, "never turns healthy", "Service.health = lambda self: 1 / 0")


def later_host_fails(lab):
    """A release that crashes at start on the last staging host only: that host goes back in
    its own activation call, and the hosts that moved before it in the run go back too
    (deploy_on_failure=go_back), so that staging ends on one release; all under load."""
    hosts = [h.name for h in lab.staging() if "api" in h.services]
    victim, earlier = hosts[-1], hosts[:-1]
    good = lab.head()
    if not lab.all_api_on(good):
        lab.deploy()
    bad = lab.commit_api(api_with(f"if __import__('os').uname().nodename == {victim!r}:\n"
                                  "    raise SystemExit('api: DATABASE_URL is not set on this host')"),
                         f"chaos: crashes at start on {victim} only")
    with Loaded(lab) as loaded:
        rc, output = lab.deploy()
    left = {name: [e for e in lab.ledger(name, "api") if e.get("commit") == bad and e.get("action") == "leave"]
            for name in hosts}
    checks = [("the deploy failed", rc != 0),
              (f"{victim} failed its gate and went back in the same call",
               "which is serving and healthy again" in output
               and any(e["outcome"] == "failed" for e in left[victim])),
              (f"{', '.join(earlier)}, deployed before it, went back (ledger: rolled_back, the deploy failed on "
               f"{victim})", all(any(e["outcome"] == "rolled_back" and victim in e.get("reason", "")
                                     for e in left[name]) for name in earlier)),
              ("every api instance still serves the previous commit", lab.all_api_on(good))]
    result = verdict(f"a release that crashes at start on {victim} only, after {', '.join(earlier)} moved",
                     f"deploy fails, {victim} goes back in its call and the hosts before it go back, previous "
                     "release serving everywhere, 0 failed requests", checks, loaded)
    lab.commit_api(GOOD_API, "chaos: restore api")
    lab.deploy()
    return result


def host_unreachable(lab):
    """The last staging host is stopped in the middle of a deploy, then started."""
    victim = lab.staging()[-1].name
    old = lab.head()
    new = lab.commit_api(GOOD_API, "chaos: deploy with a host lost")
    log = STATE / "chaos-unreachable.log"
    started = False
    try:
        with Loaded(lab) as loaded:
            run = lab.start("deploy.yml", "-l", "staging", "-e", "services=api", log=log)
            # stop the host once the deploy play reached it (the hosts before it activated)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and run.running():
                if judge.deploy_reached(run.text(), victim):
                    break
                time.sleep(0.5)
            reached = judge.deploy_reached(run.text(), victim)
            lab.stop_host(victim)
            run = run.wait()
            rc = run.rc
            serving = lab.api_versions(but=[victim])
            said_lost = judge.said(run.output)
            lock_left = lab.lock_left()
            started = lab.start_host(victim)
            rc2 = lab.deploy()[0]
    finally:
        if not started:  # the cases after this one need it
            lab.start_host(victim)
    checks = [(f"{victim} stopped once the deploy play reached it", reached),
              (f"{victim} stopped mid-deploy: the deploy failed", rc != 0),
              # (unreachable, or its call cut off mid-answer: either way the run goes on to its end)
              ("the run went on to its end: its summary, and the lost host failed by name",
               "TASK [Summary]" in run.output and f"{victim}: the deploy failed (" in said_lost),
              ("the hosts that moved before it went back (deploy_on_failure=go_back): their api serve the "
               "previous commit", bool(serving) and all(v == [old, old] for v in serving.values())),
              ("the failed deploy left staging unlocked", lock_left is None)]
    checks += [(f"{victim} started again", started),
               ("a rerun converged", rc2 == 0 and lab.all_api_on(new))]
    return verdict("a host unreachable mid-deploy", "deploy fails naming the lost host, the hosts before it go "
                   "back; after the host is back a rerun converges; 0 failed requests", checks, loaded)


def killed_deploys(lab, times=int(os.environ.get("CHAOS_KILLS", "10"))):
    """SIGKILL the deploy (its process group) at a random point of its deploy play (the lock held),
    then rerun; `times` times. The keeper releases a killed run's lock at once,
    so a rerun needs no deploy_lock_break."""
    rng = random.Random(os.environ.get("CHAOS_SEED", "7"))
    converged = 0
    kills = []
    # Kill points fall anywhere in the deploy play but its last fifth: time one first.
    lab.commit_api(GOOD_API, "chaos: before the kills")
    log = STATE / "chaos-kill-timing.log"
    run = lab.start("deploy.yml", "-l", "staging", "-e", "services=api", log=log)
    reached = lab.wait_for_output(run, judge.DEPLOY_PLAY)
    timed = run.wait().rc == 0 and reached is not None
    length = time.monotonic() - reached if timed else 0
    with Loaded(lab) as loaded:
        for i in range(times if timed else 0):
            new = lab.commit_api(GOOD_API, f"chaos: kill {i}")
            log = STATE / f"chaos-kill-{i}.log"
            run = lab.start("deploy.yml", "-l", "staging", "-e", "services=api", log=log)
            point = rng.uniform(0, 0.8 * length)
            if lab.wait_for_output(run, judge.DEPLOY_PLAY) and run.wait(point) is None:
                run.kill()
            ended = run.wait()
            kills.append(judge.Kill(point, ended.killed, ended.rc, ended.output, lab.lock_left()))
            rc = lab.deploy()[0]
            converged += rc == 0 and lab.all_api_on(new)
    checks = [("a whole deploy was timed first", timed), *judge.kill_checks(kills, length),
              (f"{converged}/{times} reruns converged", converged == times)]
    return verdict(f"deploy killed with SIGKILL, {times} times", "each kill lands inside the deploy and leaves "
                   "staging unlocked; each rerun converges; 0 failed requests", checks, loaded)


WARM_UP = ("_ready_at, _health = __import__('time').monotonic() + 8, Service.health\n"
           "Service.health = lambda self: _health(self) if __import__('time').monotonic() >= _ready_at "
           "else {'service': 'api', 'status': 'warming up'}")


def concurrent_deploys(lab, lock_timeout=10, retry_delay=1):
    """Two deploys of staging at once, the second started while the first
    holds the lock: the lock lets one through; the other waits out its lock
    timeout and is refused, naming the holder."""
    # An api that answers its health without a version for its first WARM_UP seconds, so that its
    # gates hold the first run (and the lock) for 4 x WARM_UP s and more: far past the other's
    # start and lock_timeout, however fast the deploy is otherwise (a rolling api deploy takes
    # about 10 s since the rebuild: the first run could end before the other gave up). Every
    # request is still answered.
    new = lab.commit_api(api_with(WARM_UP), "chaos: two deploys at once (an api that warms up for 8 s)")
    logs = [STATE / f"chaos-twin-{i}.log" for i in (1, 2)]
    args = ["-l", "staging", "-e", "services=api", "-e", f"deploy_lock_timeout={lock_timeout}",
            "-e", f"deploy_lock_retry_delay={retry_delay}"]
    with Loaded(lab) as loaded:
        # The second starts once the first holds the lock: both would otherwise
        # build the commit's artifacts (the controller's cache, counted as changes
        # before the lock), and the refused run's "changed nothing" would be luck.
        first = lab.start("deploy.yml", *args, log=logs[0])
        deadline = time.monotonic() + 300
        while not lab.lock() and first.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        started = [first, lab.start("deploy.yml", *args, log=logs[1])]
        ended, lock = lab.wait_all(started, judge.LOCK_TASK)
    runs = [judge.Run(run.rc, waited, run.output, run.changed if run.recap else None) for run, waited in ended]
    checks = [*judge.twin_checks(runs, lock, lock_timeout, retry_delay),
              ("every api instance serves the new commit", lab.all_api_on(new))]
    return verdict("two deploys of staging at once", f"one deploys, the other waits {lock_timeout} s and fails "
                   "naming the holder, changing nothing; 0 failed requests", checks, loaded)


CASES = [rolling_deploy, every_service_no_retries, crash_at_start, health_never_ok, later_host_fails, host_unreachable,
         killed_deploys, concurrent_deploys]
