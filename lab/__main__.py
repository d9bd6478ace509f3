"""The local lab: ``python -m lab up|down|status|endpoints [ENV]|ssh NAME [CMD]|stop NAME|start NAME``.

Real systemd hosts (systemd-nspawn) on a private bridge, a local EC2 endpoint
(moto server) that describes them, the sample backend in a bare git repo, and
a stand-in of Vercel's and GitHub's APIs that the repo's pushes drive.
Runtime state lives in ``.lab/`` of the checkout; the base image is cached in
``/var/cache/pakashop-lab`` (LAB_CACHE) and built on first use.
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.request import urlopen

from lab import backend, hosts
from lab.config import CHECKOUT, STATE, lab_hosts, load_config
from lab.ec2 import Endpoint
from lab.frontend import FrontendEndpoint
from lab.util import log, run, wait_until

SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes"]


def ssh_key():
    key = STATE / "id_ed25519"
    if not key.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pakashop-lab", "-f", key])
    return key


def raise_inotify_limits():
    """Each host's systemd takes several inotify instances; the kernel's default
    of 128 per user runs out at a dozen hosts (`Failed to allocate manager
    object: Too many open files`). Raise it, never lower it."""
    for name, wanted in (("max_user_instances", 8192), ("max_user_watches", 524288)):
        knob = Path("/proc/sys/fs/inotify") / name
        if int(knob.read_text()) < wanted:
            knob.write_text(str(wanted))


def ensure_bridge(config):
    bridge, subnet = config["network"]["bridge"], config["network"]["subnet"]
    if subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode:
        run(["ip", "link", "add", bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{subnet}.1/24", "dev", bridge])
        run(["ip", "link", "set", bridge, "up"])


def owner_file(config):
    return Path("/run") / f"pakashop-lab-{config['network']['bridge']}.owner"


def claim_bridge(config):
    """One lab per bridge: the bridge, subnet and endpoint ports are machine-wide."""
    owner_path = owner_file(config)
    owner = owner_path.read_text().strip() if owner_path.exists() else ""
    if owner and owner != str(STATE) and Path(owner).is_dir() and any(
            h.running() for h in lab_hosts_of(Path(owner), config)):
        raise SystemExit(f"lab: the lab of {owner} uses {config['network']['bridge']}; "
                         f"run `make lab-down` there, or give this one LAB_BRIDGE, LAB_SUBNET, "
                         f"PAKASHOP_LAB_EC2_URL and PAKASHOP_LAB_FRONTEND_URL of its own")
    owner_path.write_text(str(STATE))


def lab_hosts_of(state_dir, config):
    return [hosts.Host(p.name, "", "", [], state_dir, config["network"]["bridge"])
            for p in (state_dir / "hosts").glob("*")]


def ssh_ready(host, key):
    return subprocess.run(["ssh", "-i", key, *SSH_OPTS, f"root@{host.address}", "true"],
                          capture_output=True).returncode == 0


def up():
    config = load_config()
    STATE.mkdir(exist_ok=True)
    claim_bridge(config)
    key = ssh_key()
    base = hosts.ensure_base_image()
    raise_inotify_limits()
    ensure_bridge(config)
    wanted = lab_hosts(config)
    wanted_names = {h.name for h in wanted}
    for stale in lab_hosts_of(STATE, config):
        if stale.name not in wanted_names:
            stale.stop()
    public_key = key.with_suffix(".pub").read_text()
    for host in wanted:
        host.create(base, public_key)
        host.start(config["network"]["bridge"])
    endpoint = Endpoint(STATE, config["ec2"])
    endpoint.start()
    endpoint.register(wanted, config["network"]["subnet"])
    endpoint.ensure_lock_table()
    endpoint.ensure_target_groups(wanted, config["network"]["subnet"])
    frontend = FrontendEndpoint(STATE, config["frontend"])
    frontend.start()
    backend.ensure_origin(STATE, CHECKOUT / "examples/backend", frontend.url)

    def ready(host):
        if not wait_until(lambda: host.system_state() in ("running", "degraded")
                          and ssh_ready(host, key), 120):
            raise SystemExit(f"lab: {host.name} did not come up in 120 s "
                             f"(state {host.system_state()}); see {host.dir / 'nspawn.log'}")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(ready, wanted))
    status()


def down():
    config = load_config()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda h: h.stop(), lab_hosts_of(STATE, config)))
    Endpoint(STATE, config["ec2"]).stop()
    FrontendEndpoint(STATE, config["frontend"]).stop()
    owner = owner_file(config)
    if owner.exists() and owner.read_text().strip() != str(STATE):
        log(f"lab: the bridge belongs to the lab of {owner.read_text().strip()}; left as it is")
        return
    bridge = config["network"]["bridge"]
    # No error when it is already gone (a test's own teardown may race this one).
    subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
    for root in hosts.CGROUP_ROOTS:
        hosts.remove_cgroup_tree(root / f"pakashop-lab-{bridge}")
    owner.unlink(missing_ok=True)
    log(f"lab is down (the hosts' disks stay in {STATE / 'hosts'}; `make lab-clean` deletes them)")


def status():
    config = load_config()
    endpoint = Endpoint(STATE, config["ec2"])
    print(f"EC2 endpoint  {endpoint.url}  {'up' if endpoint.answering() else 'down'}")
    frontend = FrontendEndpoint(STATE, config["frontend"])
    print(f"Vercel/GitHub {frontend.url}  {'up' if frontend.answering() else 'down'}")
    print(f"origin        {STATE / 'backend.git'}")
    for host in lab_hosts(config):
        print(f"{host.name:8} {host.address:14} {host.environment:11} "
              f"{host.system_state():10} {','.join(host.services)}")


def endpoints(environment="staging"):
    """Where the environment's gateways answer, and the commit each serves."""
    config = load_config()
    for host in lab_hosts(config):
        if host.environment != environment or "gateway" not in host.services:
            continue
        url = f"http://{host.address}:8080"
        try:
            with urlopen(f"{url}/healthz", timeout=3) as answer:
                version = json.load(answer).get("version", "?")
            print(f"{environment} gateway on {host.name}: {url}/  serves commit {version}")
        except OSError as exc:
            print(f"{environment} gateway on {host.name}: {url}/  not answering ({exc})")


def lab_host(config, name):
    host = next((h for h in lab_hosts(config) if h.name == name), None)
    if not host:
        raise SystemExit(f"lab: no host {name!r}; `make lab-status` lists them")
    return host


def stop(name):
    """Power one host off (by its nspawn's pid); its instance then reads
    `stopped`, as in AWS, and the inventory lists it, unreachable (lab/ec2.yml)."""
    config = load_config()
    host = lab_host(config, name)
    host.stop()
    Endpoint(STATE, config["ec2"]).set_running(name, False)
    log(f"lab: {name} is stopped; `python -m lab start {name}` boots it again")


def start(name):
    config = load_config()
    host = lab_host(config, name)
    host.create(hosts.ensure_base_image(), ssh_key().with_suffix(".pub").read_text())
    host.start(config["network"]["bridge"])
    Endpoint(STATE, config["ec2"]).set_running(name, True)
    if not wait_until(lambda: host.system_state() in ("running", "degraded") and ssh_ready(host, ssh_key()), 120):
        raise SystemExit(f"lab: {name} did not come up in 120 s; see {host.dir / 'nspawn.log'}")
    log(f"lab: {name} is running")


def ssh(name, *command):
    host = lab_host(load_config(), name)
    os.execvp("ssh", ["ssh", "-i", str(ssh_key()), *SSH_OPTS, f"root@{host.address}", *command])


def main(argv):
    commands = {"up": up, "down": down, "status": status, "ssh": ssh, "endpoints": endpoints,
                "stop": stop, "start": start}
    if not argv or argv[0] not in commands:
        raise SystemExit(__doc__)
    if os.geteuid() != 0 and argv[0] not in ("status", "endpoints"):
        raise SystemExit("lab: the lab needs root (mounts, bridges, systemd-nspawn)")
    commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
