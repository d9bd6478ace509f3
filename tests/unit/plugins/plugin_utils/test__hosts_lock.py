"""The deploy lock on the environment's hosts: held on a strict majority of all
of them, given back when a run got less, and kept by the keeper."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.pakashop.infra.plugins.module_utils._lock_record import update
from ansible_collections.pakashop.infra.plugins.plugin_utils._hosts_lock import AdHoc, HostsLock
from ansible_collections.pakashop.infra.plugins.plugin_utils._lock import LockError, keep, process_start

HOSTS = ("stg-1", "stg-2", "stg-3")


class Hosts:
    """Each host's record folder under tmp_path, through the real compare-and-set;
    the hosts in `down` do not answer."""

    def __init__(self, root):
        self.root = root
        self.down = set()
        self.calls = []

    def __call__(self, hosts, args):
        self.calls.append((args["state"], list(hosts)))
        results, missed = {}, {}
        for host in hosts:
            if host in self.down:
                results[host], missed[host] = None, "Failed to connect to the host via ssh"
            else:
                results[host] = update(self.root / host, args["name"], args["state"], args.get("run_id"),
                                       args.get("holder"), args.get("lease", 0), args["now"])
        return results, missed

    def holder(self, host, name="staging"):
        return update(self.root / host, name, "read")["record"]


@pytest.fixture
def hosts(tmp_path):
    return Hosts(tmp_path)


def lock(hosts, names=HOSTS):
    return HostsLock({"type": "hosts"}, "staging", names, run=hosts)


def test_a_majority_of_the_hosts_holds_the_lock_and_a_second_run_is_refused(hosts):
    held, current, taken_over = lock(hosts).acquire("run-a", "deploy by a", 60, now=1000)
    assert held and current["run_id"] == "run-a" and taken_over is None
    assert [hosts.holder(h)["run_id"] for h in HOSTS] == ["run-a"] * 3
    held, current = lock(hosts).acquire("run-b", "deploy by b", 60, now=1010)[:2]
    assert not held and current["holder"] == "deploy by a"


def test_with_one_of_three_hosts_down_the_lock_is_held_and_still_excludes(hosts):
    hosts.down = {"stg-1"}
    assert lock(hosts).acquire("run-a", "a", 60, now=1000)[0]
    assert not lock(hosts).acquire("run-b", "b", 60, now=1010)[0]


def test_with_two_of_three_hosts_down_nobody_holds_it_and_the_one_taken_is_given_back(hosts):
    hosts.down = {"stg-1", "stg-2"}
    staging = lock(hosts)
    held, current = staging.acquire("run-a", "a", 60, now=1000)[:2]
    assert not held and current is None
    assert hosts.holder("stg-3") is None  # given back
    assert hosts.calls[-1] == ("released", ["stg-3"])
    assert staging.shortfall() == ("the lock needs 2 of the 3 hosts of staging and only 1 answered "
                                   "(stg-1: Failed to connect to the host via ssh; "
                                   "stg-2: Failed to connect to the host via ssh)")


def test_half_of_four_hosts_is_not_a_majority(hosts):
    four = (*HOSTS, "stg-4")
    hosts.down = {"stg-1", "stg-2"}
    assert not lock(hosts, four).acquire("run-a", "a", 60, now=1000)[0]
    hosts.down = {"stg-1"}
    assert lock(hosts, four).acquire("run-a", "a", 60, now=1000)[0]


def test_two_runners_that_see_different_hosts_cannot_both_hold_it(hosts):
    hosts.down = {"stg-3"}  # runner A reaches stg-1 and stg-2
    assert lock(hosts).acquire("run-a", "a", 60, now=1000)[0]
    hosts.down = {"stg-1"}  # runner B reaches stg-2 and stg-3: stg-2 is A's
    held, current = lock(hosts).acquire("run-b", "b", 60, now=1010)[:2]
    assert not held and current["run_id"] == "run-a"
    assert hosts.holder("stg-3") is None  # B gave back stg-3


def test_a_split_between_two_runs_is_given_back_by_both(hosts):
    five = [f"h{i}" for i in range(5)]
    for host in five[:2]:
        update(hosts.root / host, "staging", "acquired", "run-a", "a", 60, 1000)
    for host in five[2:4]:
        update(hosts.root / host, "staging", "acquired", "run-b", "b", 60, 1000)
    held = lock(hosts, five).acquire("run-c", "c", 60, now=1001)[0]  # only h4 is free
    assert not held and hosts.holder("h4") is None


def test_the_inventory_s_hosts_count_even_when_the_limit_leaves_them_out(hosts):
    hosts.down = {"stg-1", "stg-2"}
    assert not lock(hosts).acquire("run-a", "a", 60, now=1000)[0]  # 1 of 3, not 1 of 1


def test_a_lease_that_ran_out_is_taken_over_naming_the_dead_holder(hosts):
    lock(hosts).acquire("run-a", "deploy by a", 60, now=1000)
    held, current, taken_over = lock(hosts).acquire("run-b", "deploy by b", 60, now=1061)
    assert held and current["run_id"] == "run-b" and taken_over["holder"] == "deploy by a"


def test_renew_release_and_break(hosts):
    staging = lock(hosts)
    staging.acquire("run-a", "a", 60, now=1000)
    assert staging.renew("run-a", 60, now=1050)
    assert not staging.acquire("run-b", "b", 60, now=1061)[0]
    assert not staging.renew("run-b", 60) and not staging.release("run-b")
    hosts.down = {"stg-1", "stg-2"}
    with pytest.raises(LockError, match="only 1 answered"):
        staging.renew("run-a", 60)  # unknown: the keeper tries again
    hosts.down = set()
    assert staging.release("run-a") and staging.read() is None
    staging.acquire("run-c", "deploy by c", 60)
    assert staging.break_lock()["holder"] == "deploy by c" and staging.read() is None
    assert staging.per_host == {h: None for h in HOSTS}


def test_read_reports_each_host(hosts):
    staging = lock(hosts)
    staging.acquire("run-a", "a", 60, now=1000)
    hosts.down = {"stg-2"}
    assert staging.read()["run_id"] == "run-a"
    assert staging.per_host["stg-1"]["run_id"] == "run-a"
    assert staging.per_host["stg-2"] == "unreachable: Failed to connect to the host via ssh"


def test_an_environment_without_hosts_is_one_sentence(hosts):
    with pytest.raises(LockError, match="the inventory has no hosts in group staging"):
        lock(hosts, [])


def test_the_keeper_renews_on_the_hosts_and_releases_when_the_run_is_gone(hosts):
    run = subprocess.Popen(["sleep", "30"])
    lock(hosts).acquire("run-a", "a", 3)
    first = hosts.holder("stg-1")["expires_at"]
    settings = {"name": "staging", "run_id": "run-a", "lease": 3, "pid": run.pid,
                "pid_start": process_start(run.pid), "poll": 0.05}
    ended = []
    keeper = threading.Thread(target=lambda: ended.append(keep(settings, lock=lock(hosts))))
    keeper.start()
    time.sleep(2.2)
    assert hosts.holder("stg-1")["expires_at"] > first
    run.kill()
    run.wait()
    keeper.join(5)
    assert ended == ["released"] and [hosts.holder(h) for h in HOSTS] == [None] * 3


def test_ad_hoc_asks_each_host_with_ansible_and_names_those_that_did_not_answer(tmp_path):
    python = sys.executable
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n"
        f"    here: {{ansible_connection: local, ansible_python_interpreter: {python}}}\n"
        "    gone: {ansible_host: 127.0.0.1, ansible_port: 9}\n")
    ansible = str(Path(sys.executable).with_name("ansible"))
    ask = AdHoc({"ansible": ansible, "inventory": [str(inventory)],
                 "env": {"ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.yaml"}})
    staging = HostsLock({"type": "hosts", "path": str(tmp_path / "locks")}, "staging", ["here", "gone"], run=ask)
    held = staging.acquire("run-a", "a", 60)[0]
    assert not held  # 1 of 2 is no majority
    assert "gone" in staging.missed and "here" not in staging.missed
    assert not (tmp_path / "locks/staging.json").exists()  # given back on the host that granted it
    assert HostsLock({"type": "hosts", "path": str(tmp_path / "locks")}, "staging", ["here"], run=ask).acquire(
        "run-a", "a", 60)[0]
    assert (tmp_path / "locks/staging.json").exists()


def test_ad_hoc_reaches_the_hosts_with_the_run_s_command_line_options(tmp_path):
    # A host the inventory alone does not say how to reach: the run's -e does.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    here: {ansible_host: 127.0.0.1, ansible_port: 9}\n")
    transport = {"ansible": str(Path(sys.executable).with_name("ansible")), "inventory": [str(inventory)],
                 "env": {"ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.yaml"}}
    store = {"type": "hosts", "path": str(tmp_path / "locks")}
    alone = HostsLock(store, "staging", ["here"], run=AdHoc(transport))
    assert not alone.acquire("run-a", "a", 60)[0] and "here" in alone.missed
    options = ["-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}"]
    assert HostsLock(store, "staging", ["here"], run=AdHoc({**transport, "options": options})).acquire(
        "run-a", "a", 60)[0]
