"""The floor a deploy is measured against: the same work as a changed deploy
of staging, done by a bare ssh script with none of the collection's checks.

    python floor.py COMMIT      (prints the seconds; exits 1 when an instance never served COMMIT)

For the commit: build each service's artifact once (``git archive`` of its
``source_path`` and the shared paths), then host by host: copy the host's
artifacts in one scp, and in one ssh unpack each into a new release folder,
write REVISION, swap ``current`` atomically, and restart the instances one at
a time (services in ``after`` order), each waited for until its health answers
the commit. Ports, instances and order come from the catalog model; ssh uses
the ControlPersist that ansible.cfg gives Ansible. The releases it makes are
named ``floor-<commit>`` and never enter the ledger: the next deploy by the
playbooks puts its own release back.
"""

import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT))
sys.path.insert(0, str(CHECKOUT / ".cache/collections"))
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import instances, order  # noqa: E402
from lab.config import STATE, lab_hosts, load_config  # noqa: E402  pylint: disable=wrong-import-position

SERVICES = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())
CATALOG, SHARED = SERVICES["pakashop_service_catalog"], SERVICES["pakashop_shared_source_paths"]
ROOT = "/opt/pakashop"
# Wait for an instance as the gate does: its health answers the commit.
WAIT = """python3 - "$1" "$2" <<'PY'
import json, sys, time, urllib.request
port, commit = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            if json.load(answer).get("version") == commit:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(f"port {port} never served {commit}")
PY"""
# A worker without a port (readiness notify): `systemctl restart` returns once it
# said READY=1, and its sd_notify status must name the commit.
WAIT_STATUS = """systemctl show -P StatusText "$1" | tr ' ' '\\n' | grep -qx "version=$2" \\
  || { echo "$1 never told systemd it runs $2" >&2; exit 1; }"""


def ssh_options(control_dir):
    return ["-i", str(STATE / "id_ed25519"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "ControlMaster=auto",
            "-o", "ControlPersist=120s", "-o", f"ControlPath={control_dir}/%h"]


def build(commit, services, into):
    """{service: artifact path}: one tar.gz per service, as the deploy builds it."""
    artifacts = {}
    for service in services:
        path = into / f"floor-{service}.tar.gz"
        paths = [CATALOG[service]["source_path"], *SHARED]
        subprocess.run(["git", "-C", str(STATE / "backend.git"), "archive", "--format=tar.gz", "-o", str(path),
                        commit, *paths], check=True)
        artifacts[service] = path
    return artifacts


def host_script(commit, services):
    """What one ssh runs on a host: unpack, swap and gated restarts, in order."""
    release = f"floor-{commit[:12]}"
    lines = ["set -eu", f"wait_for() {{\n{WAIT}\n}}", f"wait_for_status() {{\n{WAIT_STATUS}\n}}"]
    for service in services:
        folder = f"{ROOT}/{service}"
        lines += [f"mkdir -p {folder}/releases/{release}",
                  f"tar -xzf /tmp/floor-{service}.tar.gz -C {folder}/releases/{release}",
                  f"echo {commit} > {folder}/releases/{release}/REVISION",
                  f"ln -sfn releases/{release} {folder}/current.new && mv -T {folder}/current.new {folder}/current"]
        for instance in instances(CATALOG, service):
            unit = shlex.quote(instance["unit"])
            lines += [f"systemctl restart {unit}", f"wait_for {instance['port']} {commit}"
                      if instance["port"] is not None else f"wait_for_status {unit} {commit}"]
    return "\n".join(lines) + "\n"


def deploy(commit):
    hosts = [h for h in lab_hosts(load_config()) if h.environment == "staging"]
    ordered = order(CATALOG)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        artifacts = build(commit, [s for s in ordered if any(s in h.services for h in hosts)], work)
        options = ssh_options(work)
        for host in hosts:
            mine = [s for s in ordered if s in host.services]
            target = f"root@{host.address}"
            subprocess.run(["scp", "-q", *options, *[str(artifacts[s]) for s in mine], f"{target}:/tmp/"],
                           check=True)
            subprocess.run(["ssh", *options, target, "bash -s"], input=host_script(commit, mine), text=True,
                           check=True)
        for host in hosts:
            subprocess.run(["ssh", *options, "-O", "exit", f"root@{host.address}"], capture_output=True, check=False)


def main():
    started = time.monotonic()
    try:
        deploy(sys.argv[1])
    except subprocess.CalledProcessError as failed:
        print(f"floor: {failed}", file=sys.stderr)
        return 1
    print(round(time.monotonic() - started, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
