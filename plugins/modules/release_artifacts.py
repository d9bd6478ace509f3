#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_artifacts
short_description: Build each service's artifact once per content, on the controller
version_added: 0.2.0
description:
  - Builds, for each of O(artifacts) that is not there yet, the tar.gz of the service's folders at
    O(commit) from the controller's bare cache of the backend repository (O(mirror), as
    M(pakashop.infra.git_release_info) returns it in RV(pakashop.infra.git_release_info#module:cache)).
  - An artifact without a O(artifacts[].build_command) is C(git archive) of its folders, in one step. When
    some artifact has one, the commit's tree is exported once, each build command runs in it (as the
    user running Ansible, with the tree as its working directory), and the artifacts are packed from it;
    the tree is removed afterwards.
  - Each artifact is written under a C(.part) name and renamed when whole, so a run killed in the middle
    leaves nothing that a later run would take for finished. An artifact already there is left as it is, since
    its name says its content (P(pakashop.infra.release_sources#filter)).
  - Run it on the controller (C(delegate_to=localhost), C(run_once)).
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: none
    details: The artifacts only fill the controller's cache and a check of the hosts needs them; run it with C(check_mode=false).
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  mirror:
    description: The controller's bare cache of the backend repository.
    type: path
    required: true
  commit:
    description: The commit whose folders the artifacts hold.
    type: str
    required: true
  artifacts:
    description: The artifacts wanted.
    type: list
    elements: dict
    required: true
    suboptions:
      service:
        description: The service, named in messages.
        type: str
        required: true
      path:
        description: The artifact's path; its folder is created (0700) when missing.
        type: path
        required: true
      folders:
        description: The folders of the repository it holds (the service's C(source_path), then the shared ones).
        type: list
        elements: str
        required: true
      build_command:
        description: A shell command run in the exported tree before the artifact is packed.
        type: str
notes:
  - C(playbooks/tasks/build.yml) calls it with C(deploy_sources).
seealso:
  - module: pakashop.infra.git_release_info
  - module: pakashop.infra.release_prepare
"""

EXAMPLES = r"""
- name: Build the artifacts the cache lacks
  pakashop.infra.release_artifacts:
    mirror: "{{ plan_release.cache }}"
    commit: "{{ plan_release.commit }}"
    artifacts:
      - {service: api, path: "{{ deploy_sources.api.artifact }}", folders: [api, common]}
      - {service: web, path: "{{ deploy_sources.web.artifact }}", folders: [web, common], build_command: npm ci && npm run build}
  delegate_to: localhost
  run_once: true
  check_mode: false
"""

RETURN = r"""
built:
  description: The services whose artifact was built.
  returned: always
  type: list
  elements: str
present:
  description: The services whose artifact was there already.
  returned: always
  type: list
  elements: str
"""

import io
import os
import shutil
import tarfile
import tempfile

from ansible.module_utils.basic import AnsibleModule


class BuildError(Exception):
    pass


def archive(module, mirror, commit, spec):
    """The artifact straight from git: its folders at the commit, gzipped by git."""
    part = spec["path"] + ".part"
    rc, _out, err = module.run_command(["git", "-C", mirror, "archive", "--format=tar.gz", f"--output={part}",
                                        "--end-of-options", commit, *spec["folders"]])
    if rc:
        raise BuildError(f"git archive of {', '.join(spec['folders'])} at {commit[:12]} failed for "
                         f"{spec['service']}: {(err.strip().splitlines() or ['exit ' + str(rc)])[-1]}")
    os.rename(part, spec["path"])


def export(module, mirror, commit, into):
    """The whole tree of the commit, for the build commands."""
    rc, out, err = module.run_command(["git", "-C", mirror, "archive", "--format=tar", "--end-of-options", commit],
                                      encoding=None)
    if rc:
        raise BuildError(f"git archive of {commit[:12]} failed: {err.decode('utf-8', 'replace').strip()[-300:]}")
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(into, filter="data")
        else:
            tar.extractall(into)  # nosec: the tree of our own repository, at a commit on its branch


def build_in_tree(module, tree, spec):
    if spec["build_command"]:
        rc, out, err = module.run_command(["/bin/sh", "-c", spec["build_command"]], cwd=tree)
        if rc:
            last = ((err or out).strip().splitlines() or ["no output"])[-1][-300:]
            raise BuildError(f"The build_command of {spec['service']} failed on the controller (exit {rc}): {last}; "
                             f"fix the build, or pakashop_service_catalog.{spec['service']}.build_command.")
    part = spec["path"] + ".part"
    with tarfile.open(part, "w:gz") as tar:
        for folder in spec["folders"]:
            tar.add(os.path.join(tree, folder), arcname=folder)
    os.rename(part, spec["path"])


def main():
    module = AnsibleModule(
        argument_spec={
            "mirror": {"type": "path", "required": True},
            "commit": {"type": "str", "required": True},
            "artifacts": {"type": "list", "elements": "dict", "required": True, "options": {
                "service": {"type": "str", "required": True},
                "path": {"type": "path", "required": True},
                "folders": {"type": "list", "elements": "str", "required": True},
                "build_command": {"type": "str"},
            }},
        },
        supports_check_mode=False,
    )
    params = module.params
    due = [spec for spec in params["artifacts"] if not os.path.isfile(spec["path"])]
    present = [spec["service"] for spec in params["artifacts"] if spec not in due]
    built = []
    tree = None
    try:
        for spec in due:
            os.makedirs(os.path.dirname(spec["path"]), mode=0o700, exist_ok=True)
            if not spec["build_command"]:
                archive(module, params["mirror"], params["commit"], spec)
            else:
                if tree is None:
                    tree = tempfile.mkdtemp(prefix=f"tree-{params['commit'][:12]}-", dir=os.path.dirname(spec["path"]))
                    export(module, params["mirror"], params["commit"], tree)
                build_in_tree(module, tree, spec)
            built.append(spec["service"])
    except (BuildError, OSError, tarfile.TarError) as exc:
        module.fail_json(msg=str(exc), built=built, present=present, changed=bool(built))
    finally:
        if tree:
            shutil.rmtree(tree, ignore_errors=True)
    module.exit_json(changed=bool(built), built=built, present=present)


if __name__ == "__main__":
    main()
