"""The measured scenarios: changed deploy, no-change redeploy, fast rollback,
host scaling, and each Ansible setting on vs off."""

import os
import sys
import time

from timing import median_of, playbook, timed

from lab.config import STATE
from lab.driver import BIN, CATALOG, Lab

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
LOG = STATE / "bench-last.log"
FLOOR_LOG = STATE / "bench-floor-last.log"  # its own, so a failed floor's reason outlives the runs after it

# Each Ansible setting: (name, env when on, env when off, playbook arguments
# when on). The collection's defaults are in ansible.cfg; the environment
# overrides them for one run.
SETTINGS = [
    ("pipelining", {"ANSIBLE_PIPELINING": "True"}, {"ANSIBLE_PIPELINING": "False"}, ()),
    ("ControlPersist", {"ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=120s"},
     {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no"}, ()),
    ("forks 10 vs 1", {"ANSIBLE_FORKS": "10"}, {"ANSIBLE_FORKS": "1"}, ()),
]
# No strategy row: the plays with run_once tasks pin a lockstep strategy
# (ANSIBLE_STRATEGY=free deadlocked a deploy on its own lock, RESULTS.md).


# The last run of each profiled kind: its task ends ({host, task, seconds}), for
# the report's "where the time goes".
PROFILES = {}


def commit_everywhere(message):
    """A commit that changes every service (a file in common/, shipped with all); its sha."""
    return Lab().commit("main", {"common/BENCH": f"{message} {time.time()}\n"}, message)


def profile(kind):
    """The list a run of this kind leaves its task ends in (None: not profiled)."""
    return PROFILES.setdefault(kind, []) if kind else None


def changed_deploy(*extra, env=None, profile_as="changed deploy"):
    commit_everywhere("bench: change every service")
    return playbook("deploy.yml", "-l", "staging", *extra, env=env, log=LOG, profile=profile(profile_as))


def api_only_deploy():
    """A commit to the api's own folder only: what a per-service release restarts alone."""
    Lab().commit("main", {f"{CATALOG['api']['source_path']}/BENCH": f"bench: change the api {time.time()}\n"}, "bench: change the api")
    return playbook("deploy.yml", "-l", "staging", log=LOG, profile=profile("a commit to api/ only"))


def nochange_deploy(*extra, env=None, profile_as="no-change redeploy"):
    return playbook("deploy.yml", "-l", "staging", *extra, env=env, log=LOG, profile=profile(profile_as))


def fast_rollback(*extra, env=None):
    """Roll back, then deploy forward again (untimed) for the next run; the
    run failed when either did (the next would not roll back from a deploy)."""
    seconds, rc, cpu = playbook("rollback.yml", "-l", "staging", *extra, env=env, log=LOG,
                                profile=profile("fast rollback" if not extra else None))
    forward_rc = playbook("deploy.yml", "-l", "staging", env=env)[1]
    return seconds, rc or forward_rc, cpu


def floor_deploy():
    """The floor (floor.py): a changed deploy's work by a bare ssh script."""
    commit = commit_everywhere("bench: change every service, for the floor")
    return timed([sys.executable, "tests/bench/floor.py", commit], log=FLOOR_LOG)


def deploy_kinds():
    hosts = len(Lab().names("staging"))
    floor = median_of(RUNS, floor_deploy, hosts)
    nochange_deploy(profile_as=None)  # the playbooks' own release back in place of the floor's
    return {"floor: the same work by a bare ssh script (floor.py)": floor,
            "changed deploy": median_of(RUNS, changed_deploy, hosts),
            "no-change redeploy": median_of(RUNS, nochange_deploy, hosts),
            # The default: every host at once on the lab, where every service has a socket or no port.
            "fast rollback": median_of(RUNS, fast_rollback, hosts),
            "a commit to api/ only": median_of(RUNS, api_only_deploy, hosts),
            # What a catalog with a service of socket: false gets: one host at a time.
            "fast rollback, one host at a time (-e rollback_serial=1)":
                median_of(RUNS, lambda: fast_rollback("-e", "rollback_serial=1"), hosts)}


def mitogen_setting():
    """Opt-in: BENCH_MITOGEN names a site-packages dir holding ansible_mitogen
    (pip install --target DIR mitogen); never the collection's default."""
    path = os.environ.get("BENCH_MITOGEN")
    if not path:
        return []
    return [("strategy mitogen_linear vs linear",
             {"PYTHONPATH": path, "ANSIBLE_STRATEGY_PLUGINS": f"{path}/ansible_mitogen/plugins/strategy"},
             {}, ("-e", "pakashop_strategy=mitogen_linear"))]


def settings():
    results = {}
    for name, on, off, on_args in SETTINGS + mitogen_setting():
        results[name] = {"on": median_of(RUNS, lambda on=on, a=on_args: changed_deploy(*a, env=on, profile_as=None)),
                         "off": median_of(RUNS, lambda off=off: changed_deploy(env=off, profile_as=None))}
    results["fact gathering (cost of one setup run on staging)"] = {
        "on": median_of(RUNS, lambda: timed([str(BIN / "ansible"), "staging", "-m", "ansible.builtin.setup"])),
        "off": {"median_s": 0.0, "runs_s": [], "median_cpu_s": 0.0, "all_ok": True}}
    return results


def lab_up(hosts):
    return timed([sys.executable, "-m", "lab", "up"], env={"LAB_STAGING_HOSTS": str(hosts)})


def scaling(counts=(2, 4, 8)):
    """The changed deploy on n staging hosts, batches of 50% (two batches)."""
    results = {}
    for count in counts:
        env = {"LAB_STAGING_HOSTS": str(count)}
        lab_up(count)
        nochange_deploy(env=env, profile_as=None)
        results[f"{count} hosts"] = median_of(
            RUNS, lambda env=env, count=count: changed_deploy("-e", "deploy_serial=50%", env=env,
                                                              profile_as=f"changed deploy, {count} hosts"), count)
    lab_up(2)
    return results
