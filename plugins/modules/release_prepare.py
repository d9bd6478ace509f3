#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_prepare
short_description: Prepare the releases of a host's services, code and configuration, in one call
version_added: 0.2.0
description:
  - Prepares each of O(releases) under C(<root>/<service>/releases/<release>/), marked unfinished
    until it is complete - its code unpacked from its artifact, C(REVISION), its configuration
    (O(releases[].env) and O(releases[].units), written root-only into the release's C(.pakashop/) folder) and its
    O(releases[].install_command) run - so that activating it (M(pakashop.infra.release_activate))
    switches code and configuration together. It does not touch C(current), the units or any process.
  - A release already complete is left as it is; its artifact is not needed.
  - The action plugin sends the host the artifacts of the releases it lacks as one bundle (one
    transfer), and the module unpacks each from it; the bundle is removed afterwards.
  - An artifact entry that could leave its release (an absolute name, C(..), a link whose target is
    outside it, an entry written through one of its own links, a device file or FIFO) is refused
    before anything of it is unpacked.
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.host_paths.config
attributes:
  check_mode:
    support: full
    details: Sends nothing and says which releases it would prepare.
  diff_mode:
    support: full
    details:
      - For each release it prepares (or would), how its configuration differs from what the host runs now -
        each unit and drop-in line by line, the env file only as changed, never its content.
  platform:
    platforms: posix
options:
  releases:
    description: The releases to prepare on the host.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description: The service's name; its releases live in C(<root>/<service>/releases).
        type: str
        required: true
      release:
        description: The release id, the same on every host that gets the same content.
        type: str
        required: true
      commit:
        description: The commit the release is built from; written to C(REVISION) and recorded.
        type: str
        required: true
      artifact:
        description:
          - The release's code, a tar.gz of the service's folders, on the controller.
          - Sent only when the release is not on the host yet.
        type: path
        required: true
      env:
        description:
          - The release's environment file, installed as C(<config_dir>/<service>.env) when the release is
            activated. It holds the secrets, so it is kept out of logs and diffs.
        type: str
      units:
        description:
          - The release's units and port drop-ins, each content by its name C(units/<name>) (for example
            C(units/pakashop-api@.service), C(units/pakashop-api@1.service.d/port.conf)).
        type: dict
        default: {}
      install_command:
        description: A shell command run as root inside the new release before it is marked complete.
        type: str
      branch:
        description: The branch the commit was deployed from (recorded with the release).
        type: str
      environment:
        description: The environment (recorded with the release).
        type: str
  root:
    description: Where the services' release trees live.
    type: path
    default: /opt/pakashop
  bundle:
    description:
      - The bundle of artifacts on the host, a tar holding C(<service>-<release>.tar.gz) for each release
        it lacks. The action plugin sends it and sets this; a task does not.
    type: path
notes:
  - The role P(pakashop.infra.service#role) calls this module; C(deploy.yml) is the usual way to use it.
seealso:
  - module: pakashop.infra.release_activate
  - module: pakashop.infra.release_info
"""

EXAMPLES = r"""
- name: Prepare the api's and the gateway's new releases (one transfer, one call)
  pakashop.infra.release_prepare:
    releases:
      - service: api
        release: 20261126T104500Z-3f4a276-9c1e2f04
        commit: 3f4a276bb1cc2fe5de1f447a561d014b44dd00da
        artifact: /home/me/.cache/pakashop/artifacts/api-5d41402abc4b2a76.tar.gz
        env: "PAKASHOP_SERVICE=\"api\"\n"
        units:
          units/pakashop-api@.service: "{{ lookup('ansible.builtin.template', 'service@.service.j2') }}"
      - service: gateway
        release: 20261120T091500Z-a1b2c3d-77aa01fe
        commit: a1b2c3d4e5f60718293a4b5c6d7e8f9012345678
        artifact: /home/me/.cache/pakashop/artifacts/gateway-0cc175b9c0f1b6a8.tar.gz
"""

RETURN = r"""
prepared:
  description: The releases prepared (or, in check mode, that would be), as C(<service>/<release>).
  returned: always
  type: list
  elements: str
  sample: [api/20261126T104500Z-3f4a276-9c1e2f04]
present:
  description: The releases that were complete already, as C(<service>/<release>).
  returned: always
  type: list
  elements: str
"""

import os
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._release import ReleaseTree, utc_now
from ansible_collections.pakashop.infra.plugins.module_utils._release_config import (
    ENV, HostConfig, validate_names, write_release_files)
from ansible_collections.pakashop.infra.plugins.module_utils._host_lock import HostLockTimeout, host_lock

RELEASE_OPTIONS = {
    "service": {"type": "str", "required": True},
    "release": {"type": "str", "required": True},
    "commit": {"type": "str", "required": True},
    "artifact": {"type": "path", "required": True},
    "env": {"type": "str", "no_log": True},
    "units": {"type": "dict", "default": {}},
    "install_command": {"type": "str"},
    "branch": {"type": "str"},
    "environment": {"type": "str"},
}
ARGUMENT_SPEC = {
    "releases": {"type": "list", "elements": "dict", "required": True, "options": RELEASE_OPTIONS},
    "root": {"type": "path", "default": "/opt/pakashop"},
    "config_dir": {"type": "path", "default": "/etc/pakashop"},
    "unit_dir": {"type": "path", "default": "/etc/systemd/system"},
    # Set by the action plugin: the bundle it sent (member <service>-<release>.tar.gz each).
    "bundle": {"type": "path"},
}


def member_name(spec):
    """The name of a release's artifact in the bundle."""
    return f"{spec['service']}-{spec['release']}.tar.gz"


def install(module, command):
    def run(path):
        rc, out, err = module.run_command(["/bin/sh", "-c", command], cwd=path)
        if rc:
            raise ValueError(f"its install command `{command}` failed (rc={rc}) in {path}: "
                             f"{(err or out).strip()[-2000:]}")
    return run


def prepare(module, spec, bundle):
    """Prepare one release from its member of the open bundle."""
    tree = ReleaseTree(module.params["root"], spec["service"])
    metadata = {"commit": spec["commit"], "branch": spec["branch"], "environment": spec["environment"],
                "created": utc_now()}
    try:
        archive = bundle.extractfile(member_name(spec))
    except KeyError:
        archive = None
    if archive is None:
        raise ValueError(f"the bundle has no artifact {member_name(spec)}")
    os.makedirs(tree.releases, mode=0o755, exist_ok=True)
    tree.prepare(spec["release"], archive, metadata,
                 install=install(module, spec["install_command"]) if spec["install_command"] else None,
                 configure=lambda path: write_release_files(path, config_of(spec)))


def config_of(spec):
    """{name in the release: content} of what the release carries besides its code."""
    return {**spec["units"], **({ENV: spec["env"]} if spec["env"] is not None else {})}


def config_diff(specs, config_dir, unit_dir):
    """How each release's configuration differs from what the host has installed (the env file's
    content is secret: only that it changes)."""
    diffs = []
    for spec in specs:
        host = HostConfig(spec["service"], config_dir, unit_dir)
        present, config = host.installed(), config_of(spec)
        for name in sorted(set(present) | set(config)):
            before, after = present.get(name, ""), config.get(name, "")
            if before == after:
                continue
            header = f"{spec['service']} {spec['release']}: {host.host_path(name)}"
            if name == ENV:
                before, after = "(the env file now: its content is secret)\n", "(the release's env file: changed)\n"
            diffs.append({"before_header": header, "after_header": header, "before": before, "after": after})
    return diffs


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    problems = [f"{spec['service']}: {problem}" for spec in params["releases"]
                for problem in validate_names(spec["service"], config_of(spec))]
    if problems:
        module.fail_json(msg="; ".join(problems))

    def complete(spec):
        return ReleaseTree(params["root"], spec["service"]).is_complete(spec["release"])

    names = {id(spec): f"{spec['service']}/{spec['release']}" for spec in params["releases"]}
    due = [spec for spec in params["releases"] if not complete(spec)]
    present = [names[id(spec)] for spec in params["releases"] if complete(spec)]
    diff = {"diff": config_diff(due, params["config_dir"], params["unit_dir"])} if module._diff else {}
    if module.check_mode or not due:
        module.exit_json(changed=bool(due), prepared=[names[id(s)] for s in due], present=present, **diff)
    if not params["bundle"] or not os.path.isfile(params["bundle"]):
        module.fail_json(msg=f"{', '.join(names[id(s)] for s in due)} need their artifacts, and no bundle "
                             "of them is on the host: run this module through its action plugin "
                             "(pakashop.infra.release_prepare), which sends them")
    prepared = []
    try:
        with host_lock(params["root"]), tarfile.open(params["bundle"]) as bundle:
            for spec in due:
                try:
                    prepare(module, spec, bundle)
                except (OSError, ValueError, tarfile.TarError) as exc:
                    module.fail_json(msg=f"{spec['service']}: preparing release {spec['release']} failed: {exc}",
                                     changed=bool(prepared), prepared=prepared, present=present)
                prepared.append(names[id(spec)])
    except HostLockTimeout as exc:
        module.fail_json(msg=str(exc), changed=False, prepared=[], present=present)
    finally:
        os.unlink(params["bundle"])
    module.exit_json(changed=True, prepared=prepared, present=present, **diff)


if __name__ == "__main__":
    main()
