"""tests/bench/timing.py: a run's CPU seconds are its own (the controller's
finished children and the lab's hosts), not the machine's."""

import subprocess
import sys
from types import SimpleNamespace


def test_a_run_s_cpu_seconds_count_its_children_and_the_lab_s_hosts_only(scripts, monkeypatch, tmp_path):
    timing = scripts("bench", "timing").timing
    hosts = [SimpleNamespace(cgroup="pakashop-lab-br-x/stg-1"), SimpleNamespace(cgroup="pakashop-lab-br-x/stg-2"),
             SimpleNamespace(cgroup="pakashop-lab-br-x/stopped")]
    for host, usec in zip(hosts[:2], (1_500_000, 2_500_000)):
        (tmp_path / host.cgroup).mkdir(parents=True)
        (tmp_path / host.cgroup / "cpu.stat").write_text(f"usage_usec {usec}\nuser_usec 1\nsystem_usec 1\n")
    monkeypatch.setattr(timing, "CGROUP_V2", tmp_path)
    monkeypatch.setattr(timing, "lab_hosts", lambda config: hosts)
    monkeypatch.setattr(timing, "load_config", lambda: {})
    before = timing.run_cpu_seconds()
    # a child that burns about 0.3 CPU seconds, and the hosts 1 more second
    subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"],
                   check=True)
    (tmp_path / hosts[0].cgroup / "cpu.stat").write_text("usage_usec 2500000\n")
    spent = timing.run_cpu_seconds() - before
    assert 1.25 < spent < 1.8, spent
    # the hosts alone, before any child: 1.5 + 2.5 s (the stopped host has no cgroup)
    assert before >= 4.0
