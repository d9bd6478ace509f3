"""Real systemd hosts: one systemd-nspawn container per lab host.

Each host is an overlayfs clone of a cached Debian base image, boots a real
systemd as PID 1, runs sshd and has its own address on a private bridge.
The host machine's PID 1 is not systemd, so nspawn runs with
``--register=no --keep-unit`` and every host gets a cgroup of its own.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab.util import log, run

SUITE = "bookworm"
PACKAGES = ("systemd,systemd-sysv,dbus,openssh-server,python3,iproute2,curl,"
            "sudo,ca-certificates,procps")
# Timers that fight Ansible over dpkg or make no sense in a throw-away host.
MASKED_UNITS = ("apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer "
                "e2scrub_reap.service fstrim.timer dpkg-db-backup.timer").split()
CACHE = Path(os.environ.get("LAB_CACHE", "/var/cache/pakashop-lab"))
CGROUP_ROOTS = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"))


def base_image_id():
    """Cache key of the base image: changes whenever its recipe changes."""
    recipe = f"{SUITE}|{PACKAGES}|{' '.join(MASKED_UNITS)}|v1"
    return hashlib.sha256(recipe.encode()).hexdigest()[:10]


def base_dir():
    return CACHE / f"base-{base_image_id()}"


def debian_mirror():
    """The Debian mirror apt already uses on this machine."""
    for src in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in src.read_text().splitlines():
            if line.startswith("URIs:") and line.rstrip("/").endswith("/debian"):
                return line.split()[1]
    sources = Path("/etc/apt/sources.list")
    if sources.exists():
        for line in sources.read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[0] == "deb" and "security" not in parts[2]:
                return parts[1]
    raise SystemExit("lab: no Debian mirror in apt's sources; set one in /etc/apt/sources.list")


def ensure_base_image():
    """Unpack the cached base image, building it with debootstrap on first use."""
    root = base_dir()
    if (root / "lib/systemd/systemd").exists():
        return root
    tar = root.with_suffix(".tar")
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = root.with_suffix(".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    if tar.exists():
        log(f"unpacking cached base image {tar}")
        run(["tar", "--numeric-owner", "-C", staging, "-xf", tar])
    else:
        log(f"building the base image (debootstrap {SUITE}, about a minute, once per machine)")
        with open(CACHE / "debootstrap.log", "w") as out:
            rc = subprocess.call(["debootstrap", "--variant=minbase", f"--include={PACKAGES}",
                                  SUITE, staging, debian_mirror()], stdout=out, stderr=out)
        if rc:
            raise SystemExit(f"lab: debootstrap failed (rc={rc}); see {CACHE / 'debootstrap.log'}")
        _configure_base(staging)
        run(["tar", "--numeric-owner", "-C", staging, "-cf", f"{tar}.tmp", "."])
        os.replace(f"{tar}.tmp", tar)
    staging.rename(root)
    return root


def _configure_base(root):
    run(["chroot", root, "systemctl", "enable", "systemd-networkd"], quiet=True)
    run(["chroot", root, "systemctl", "mask", *MASKED_UNITS], quiet=True)
    (root / "etc/machine-id").write_text("")  # empty: every boot gets its own id
    for stale in [root / "var/lib/dbus/machine-id", root / "etc/hostname",
                  *root.glob("etc/ssh/ssh_host_*")]:
        stale.unlink(missing_ok=True)
    run(["chroot", root, "apt-get", "clean"], quiet=True)


@dataclass
class Host:
    name: str
    address: str
    environment: str
    services: list
    state_dir: Path
    machine_prefix: str  # the bridge: machine names and cgroups stay unique per lab

    @property
    def machine(self):
        return f"{self.machine_prefix}-{self.name}"

    @property
    def cgroup(self):
        return f"pakashop-lab-{self.machine_prefix}/{self.name}"

    @property
    def dir(self):
        return self.state_dir / "hosts" / self.name

    @property
    def root(self):
        return self.dir / "root"

    def _pid(self, name):
        try:
            pid = int((self.dir / name).read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def leader_pid(self):
        """PID (in our namespace) of the host's systemd, or None."""
        nspawn = self._pid("nspawn.pid")
        if not nspawn:
            return None
        for child in _children(nspawn):
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("NSpid:") and line.split()[-1] == "1":
                    return child
        return None

    def running(self):
        return self.leader_pid() is not None

    def create(self, base, public_key):
        """Overlay clone of the base with this host's name, address, keys."""
        for sub in ("upper", "work", "root"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        fresh = not (self.dir / "address").exists()
        if not os.path.ismount(self.root):
            run(["mount", "-t", "overlay", "overlay", "-o",
                 f"lowerdir={base},upperdir={self.dir / 'upper'},workdir={self.dir / 'work'}",
                 self.root])
        if not fresh:
            return
        (self.root / "etc/hostname").write_text(self.name + "\n")
        with open(self.root / "etc/hosts", "a") as hosts:
            hosts.write(f"127.0.1.1\t{self.name}\n")
        network = self.root / "etc/systemd/network"
        network.mkdir(parents=True, exist_ok=True)
        (network / "10-host0.network").write_text(
            "[Match]\nName=host0\n\n[Network]\n"
            f"Address={self.address}/24\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n")
        ssh = self.root / "root/.ssh"
        ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ssh / "authorized_keys").write_text(public_key)
        os.chmod(ssh / "authorized_keys", 0o600)
        run(["ssh-keygen", "-q", "-A", "-f", self.root], quiet=True)
        (self.dir / "address").write_text(self.address)

    def start(self, bridge):
        """Boot the host in the background under a small supervisor loop.

        ``systemctl reboot`` inside a host makes nspawn exit with 133; the loop
        then boots it again, as systemd-nspawn@.service would.
        """
        if self.running():
            return
        for cg in CGROUP_ROOTS:
            if cg.is_dir():
                (cg / self.cgroup).mkdir(parents=True, exist_ok=True)
        (self.dir / "stopping").unlink(missing_ok=True)
        supervisor = r'''
for cg in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
  [ -d "$cg/$1" ] && echo $$ > "$cg/$1/cgroup.procs"
done
while :; do
  systemd-nspawn --quiet --boot --directory="$3" --machine="$2" --register=no \
    --keep-unit --link-journal=no --network-bridge="$4" --console=passive &
  echo $! > "$5/nspawn.pid"
  wait $!; rc=$?
  echo "systemd-nspawn exited rc=$rc" >&2
  rm -rf "/run/systemd/nspawn/propagate/$2"
  [ $rc -eq 133 ] && [ ! -e "$5/stopping" ] || break
done
rm -f "$5/nspawn.pid"
'''
        with open(self.dir / "nspawn.log", "ab") as out:
            proc = subprocess.Popen(
                ["bash", "-c", supervisor, "_", self.cgroup, self.machine, str(self.root),
                 bridge, str(self.dir)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        (self.dir / "super.pid").write_text(str(proc.pid))

    def system_state(self):
        leader = self.leader_pid()
        if not leader:
            return "stopped"
        result = subprocess.run(
            ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-n", "-p",
             "systemctl", "is-system-running"], capture_output=True, text=True)
        return result.stdout.strip() or "starting"

    def stop(self):
        """Orderly poweroff (SIGTERM to nspawn), then unmount and drop cgroups."""
        if self.dir.exists():
            (self.dir / "stopping").touch()
        nspawn = self._pid("nspawn.pid")
        if nspawn:
            os.kill(nspawn, signal.SIGTERM)
            if not _wait_gone(nspawn, 20):
                os.kill(nspawn, signal.SIGKILL)
                _wait_gone(nspawn, 5)
        supervisor = self._pid("super.pid")
        if supervisor and not _wait_gone(supervisor, 5):
            os.kill(supervisor, signal.SIGKILL)
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{self.machine}", ignore_errors=True)
        if os.path.ismount(self.root):
            run(["umount", self.root])
        for cg in CGROUP_ROOTS:
            remove_cgroup_tree(cg / self.cgroup)


def remove_cgroup_tree(path):
    if not path.is_dir():
        return
    for sub in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if sub.is_dir():
            try:
                sub.rmdir()
            except OSError:
                pass
    try:
        path.rmdir()
    except OSError:
        pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _wait_gone(pid, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _children(pid):
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []
