# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The configuration a release carries, and where each of its files goes on the host.

    releases/<id>/.pakashop/env                                 -> <config_dir>/<service>.env (0600)
    releases/<id>/.pakashop/units/pakashop-<service>@.service   -> <unit_dir>/pakashop-<service>@.service
    releases/<id>/.pakashop/units/pakashop-<service>@.socket    -> ...
    releases/<id>/.pakashop/units/pakashop-<service>.target     -> ...
    releases/<id>/.pakashop/units/pakashop-<service>@<i>.service.d/port.conf  (one per instance)
    releases/<id>/.pakashop/units/pakashop-<service>@<i>.socket.d/port.conf

The release holds the truth: activating a release (or going back to one)
installs its files over the host's and removes the service's files it does not
have, so code and configuration always switch together.

Private to the collection: only its modules import this.
"""

from __future__ import annotations

import os
import re

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import unit_name
from ansible_collections.pakashop.infra.plugins.module_utils._release import write_atomically

CONFIG_DIR = ".pakashop"
ENV = "env"
UNITS = "units"
DROPINS = ("port.conf", "instance.conf")


def managed_unit_pattern(service):
    """The names under the unit folder that belong to `service`: its template units, its
    target, and the drop-in of each instance - port.conf, or a worker's instance.conf (other
    drop-ins are the admin's own)."""
    unit = re.escape(unit_name(service))
    return re.compile(rf"^{unit}(@\.service|@\.socket|\.target|@\d+\.(service|socket)\.d/(port|instance)\.conf)$")


class HostConfig:
    """Where a service's configuration lives on the host, and what is there now."""

    def __init__(self, service, config_dir="/etc/pakashop", unit_dir="/etc/systemd/system"):
        self.service = service
        self.config_dir = config_dir
        self.unit_dir = unit_dir
        self.pattern = managed_unit_pattern(service)

    def env_path(self):
        return os.path.join(self.config_dir, f"{self.service}.env")

    def host_path(self, name):
        """The host path of a release file's name (`env` or `units/<name>`)."""
        if name == ENV:
            return self.env_path()
        return os.path.join(self.unit_dir, name[len(UNITS) + 1:])

    def installed(self):
        """{name in the release's terms: content} of what the host has now."""
        found = {}
        if os.path.isfile(self.env_path()):
            found[ENV] = _read(self.env_path())
        if os.path.isdir(self.unit_dir):
            for entry in sorted(os.listdir(self.unit_dir)):
                path = os.path.join(self.unit_dir, entry)
                names = [f"{entry}/{dropin}" for dropin in DROPINS] if os.path.isdir(path) else [entry]
                for name in names:
                    if self.pattern.match(name) and os.path.isfile(os.path.join(self.unit_dir, name)):
                        found[f"{UNITS}/{name}"] = _read(os.path.join(self.unit_dir, name))
        return found

    def install(self, files, check_mode=False):
        """Make the host's files those of `files` ({name: content}): write what differs,
        remove what the release does not have. Returns the names written and removed."""
        present = self.installed()
        written = sorted(n for n, text in files.items() if present.get(n) != text)
        removed = sorted(n for n in present if n not in files)
        if not check_mode:
            for name in removed:
                path = self.host_path(name)
                os.unlink(path)
                if name.endswith(DROPINS) and ".d/" in name and not os.listdir(os.path.dirname(path)):
                    os.rmdir(os.path.dirname(path))
            for name in written:
                path = self.host_path(name)
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                write_atomically(path, files[name], mode=0o600 if name == ENV else 0o644)
        return written, removed


def release_files(release_path):
    """{name: content} of the configuration a release carries, or None for a release
    made before releases carried their configuration."""
    base = os.path.join(release_path, CONFIG_DIR)
    if not os.path.isdir(base):
        return None
    found = {}
    for folder, _dirs, names in os.walk(base):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, base)] = _read(path)
    return found


def write_release_files(release_path, files):
    """Write a release's configuration into it: root-only, since the env file holds secrets."""
    base = os.path.join(release_path, CONFIG_DIR)
    os.makedirs(base, mode=0o700, exist_ok=True)
    os.chmod(base, 0o700)
    for name, text in sorted(files.items()):
        path = os.path.join(base, name)
        if not _inside(base, path):
            raise ValueError(f"the configuration file name {name!r} leads outside the release")
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_atomically(path, text, mode=0o600 if name == ENV else 0o644)


def validate_names(service, files):
    """Sentences naming the configuration files a release of `service` may not carry."""
    pattern = managed_unit_pattern(service)

    def allowed(name):
        return name == ENV or (name.startswith(f"{UNITS}/") and bool(pattern.match(name[len(UNITS) + 1:])))
    return [f"{name!r} is not a configuration file of {service} (env, or units/ with a unit or "
            f"port drop-in of {unit_name(service)})" for name in sorted(files) if not allowed(name)]


def _read(path):
    # newline="": the bytes as they are (an env value may hold \r\n, which universal newlines would change).
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _inside(base, path):
    real = os.path.realpath(path)
    return real.startswith(os.path.realpath(base) + os.sep)
