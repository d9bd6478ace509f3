"""The chaos run's view of the lab: the shared driver (lab/driver.py) and
what only chaos does with it: the sample api's commits, the staging gateway,
deploys watched while they run, a host stopped and started.

It uses whatever lab LAB_STATE, LAB_BRIDGE, LAB_SUBNET and PAKASHOP_LAB_EC2_URL
name (the demo lab's values when unset), and only that lab's addresses.
"""

import copy
import subprocess
import sys
import time
from pathlib import Path

import yaml

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT))

from lab import driver, hosts  # noqa: E402  pylint: disable=wrong-import-position
from lab.config import STATE  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

GOOD_API = (CHECKOUT / "examples/backend/api/main.py").read_text()
COMMON = "common/pakashop_service.py"
GOOD_COMMON = (CHECKOUT / "examples/backend" / COMMON).read_text()
EVERY_SERVICE = ",".join(driver.CATALOG)


def api_with(line):
    """The sample api with one line added after its Service is made."""
    return GOOD_API.replace('service = Service("api")\n', f'service = Service("api")\n{line}\n')


class Lab(driver.Lab):
    def staging(self):
        return [h for h in self.hosts if h.environment == "staging"]

    def gateway_url(self, path="/api/products"):
        host = next(h for h in self.staging() if "gateway" in h.services)
        return f"http://{host.address}:{self.port('gateway')}{path}"

    def deploy(self, *extra, log=None, services="api"):
        """Deploy staging's api (or `services`) and wait; (rc, output)."""
        run = self.playbook("deploy.yml", "-l", "staging", "-e", f"services={services}", *extra,
                            log=log or STATE / "chaos-deploy.log")
        return run.rc, run.output

    @staticmethod
    def wait_for_output(run, text, seconds=300):
        """The monotonic time `text` showed in the run's output, or None when it ended first or time ran out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and run.running():
            if text in run.text():
                return time.monotonic()
            time.sleep(0.2)
        return None

    def wait_all(self, runs, text):
        """Wait for every run, watching the deploy lock. ([(Run, seconds from
        when `text` showed in its output until it ended, or None when it never
        showed)], the first lock seen or None)."""
        shown, ended, first_lock = {}, {}, None
        while len(ended) < len(runs):
            first_lock = first_lock or self.lock()
            for i, run in enumerate(runs):
                if i not in shown and text in run.text():
                    shown[i] = time.monotonic()
                if i not in ended and not run.running():
                    ended[i] = (run.wait(), time.monotonic() - shown[i] if i in shown else None)
            time.sleep(0.1)
        return [ended[i] for i in range(len(runs))], first_lock

    def lock_left(self, seconds=5, environment="staging"):
        """None once the environment's deploy lock is gone (within `seconds`), else the lock still there."""
        deadline = time.monotonic() + seconds
        lock = self.lock(environment)
        while lock and time.monotonic() < deadline:
            time.sleep(0.2)
            lock = self.lock(environment)
        return lock

    def sync_backend(self):
        """Bring main of origin up to this checkout's examples/backend (the
        sample services the chaos run was written against)."""
        self.checkout("main")
        subprocess.run(["cp", "-a", f"{CHECKOUT}/examples/backend/.", str(self._work)], check=True)
        self.git("add", "-A")
        if self.git("status", "--porcelain"):
            self.push("main", "chaos: the checkout's sample backend")

    def commit_api(self, text, message):
        """Commit api/main.py on main of origin and push; returns the sha."""
        return self.commit("main", {"api/main.py": f"{text}# {message} {time.time()}\n"}, message)

    def commit_common(self, message):
        """Commit a change to common/ (shipped with every service) on main of origin; returns the sha."""
        return self.commit("main", {COMMON: f"{GOOD_COMMON}# {message} {time.time()}\n"}, message)

    @staticmethod
    def catalog_file(path, service, env):
        """Write the lab's catalog with `env` added to one service's env, as a vars
        file for `-e @path` (extra vars replace the catalog whole, so it is all there)."""
        catalog = copy.deepcopy(driver.CATALOG)
        catalog[service]["env"] = {**(catalog[service].get("env") or {}), **env}
        path.write_text(yaml.safe_dump({"pakashop_service_catalog": catalog}), encoding="utf-8")
        return path

    def units(self, environment="staging"):
        """{(host, unit): {pid: MainPID, version: the commit it reports, environ: its process's environment}}
        for every instance of every service on the environment's hosts."""
        found = {}
        for name in self.names(environment):
            for service in self.by_name(name).services:
                for instance in driver.instances(driver.CATALOG, service):
                    host = self.host(name)
                    pid = host.run(f"systemctl show -p MainPID --value {instance['unit']}").stdout.strip()
                    environ = host.run(f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout if pid != "0" else ""
                    version = self.version(name, instance)
                    found[(name, instance["unit"])] = {"pid": pid, "version": version, "environ": environ.split()}
        return found

    def api_versions(self, but=()):
        """{host: [commit of each api instance]} in staging, but on the hosts `but` names (a host
        that is down cannot be asked)."""
        return {name: [self.version(name, i) for i in driver.instances(driver.CATALOG, "api")]
                for name in self.names("staging") if name not in but and "api" in self.by_name(name).services}

    def all_api_on(self, commit):
        return all(set(v) == {commit} for v in self.api_versions().values())

    def stop_host(self, name):
        self.by_name(name).stop()

    def start_host(self, name, wait=90):
        host = self.by_name(name)
        host.create(hosts.ensure_base_image(), self.key.with_suffix(".pub").read_text())
        host.start(self.config["network"]["bridge"])
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if host.system_state() in ("running", "degraded"):
                return True
            time.sleep(1)
        return False
