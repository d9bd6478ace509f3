#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release
short_description: Manage the releases of one service on a host, and their ledger
version_added: 0.1.0
description:
  - Manages C(<root>/<service>/). It prepares release directories, swaps C(current)
    atomically (a new link renamed over the old one, so there is never a moment
    without C(current)), rolls back, and prunes old releases.
  - M(pakashop.infra.release_info) reads the releases and the ledger without changing them.
  - One step at a time, for a person or a playbook of their own. A deploy uses
    M(pakashop.infra.release_prepare) and M(pakashop.infra.release_activate), which also write and install
    the configuration a release carries and restart behind the gates; O(state=activated) and
    O(state=rolled_back) here swap C(current) only, leaving the env file and the units as they are.
  - Keeps the ledger C(<ledger_dir>/<service>.json) with every activation and
    rollback (release id, commit, branch, environment, time, who, CI run, outcome).
    A missing or corrupt ledger is rebuilt from the releases directory with a warning.
  - Every file it writes is written whole or not at all (temporary file, fsync, rename).
author: Pakashop Engineering (@pakashop)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.host_paths
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Shows C(current) before and after, and the releases a prune removes.
  platform:
    platforms: posix
options:
  service:
    description: The service's name; its releases live in C(<root>/<service>).
    type: str
    required: true
  state:
    description:
      - V(prepared) unpacks O(src) into C(releases/<release>), marked unfinished until
        it is complete (and O(install_command) has run). A complete release is left as it is.
      - V(activated) points C(current) at O(release) and records it in the ledger as
        C(activating).
      - V(confirmed) records that O(release) passed its health gates (outcome C(active)).
      - V(rolled_back) leaves O(release) (default the current one) for O(to_release), or
        for the newest earlier release whose outcome is C(active). With O(failed_gate) the
        left release is recorded as C(failed), otherwise as C(rolled_back).
      - V(pruned) keeps O(keep) releases, never the current one nor the previous good one;
        unfinished releases always go, then failed ones, then the least recently used.
      - There is no default.
    type: str
    choices: [prepared, activated, confirmed, rolled_back, pruned]
    required: true
  release:
    description:
      - The release id (the deploy uses the commit's UTC time and short commit).
      - Required with O(state=prepared), O(state=activated) and O(state=confirmed).
    type: str
  to_release:
    description: With O(state=rolled_back), the release to go back to.
    type: str
  src:
    description:
      - With O(state=prepared), the artifact (a tar or tar.gz on the host) to unpack (required).
      - An artifact with an entry that could leave the release (an absolute name, C(..), a link
        whose target is outside it, an entry written through one of its own links, a device file
        or FIFO) is refused before anything is unpacked. Setuid, setgid and group or other write
        bits are dropped, and the files belong to the user that unpacks them.
    type: path
  commit:
    description:
      - The commit the release is built from; written to C(REVISION) in the release.
      - Required with O(state=prepared).
    type: str
  branch:
    description: The branch the commit was deployed from (recorded in the ledger).
    type: str
  environment:
    description: The environment (recorded in the ledger).
    type: str
  install_command:
    description:
      - With O(state=prepared), a shell command run as root inside the new release
        directory before it is marked complete (for example C(npm ci --omit=dev)).
    type: str
  failed_gate:
    description: With O(state=rolled_back), the health gate that failed (recorded in the ledger).
    type: str
  actor:
    description: Who ran the change (recorded in the ledger), usually the controller's user.
    type: str
  ci_run:
    description: The CI run that made the change, when there is one (recorded in the ledger).
    type: str
  keep:
    description: With O(state=pruned), how many releases to keep.
    type: int
    default: 5
notes:
  - The role P(pakashop.infra.service#role) calls this module; the playbooks
    C(deploy.yml) and C(rollback.yml) are the usual way to use it.
seealso:
  - module: pakashop.infra.release_info
"""

EXAMPLES = r"""
- name: Prepare the release of api from an artifact already on the host
  pakashop.infra.release:
    service: api
    state: prepared
    release: 20261126T104500Z-3f4a276
    src: /var/lib/pakashop/artifacts/api/20261126T104500Z-3f4a276.tar.gz
    commit: 3f4a276bb1cc2fe5de1f447a561d014b44dd00da
    branch: main
    environment: staging

- name: Swap current
  pakashop.infra.release:
    service: api
    state: activated
    release: 20261126T104500Z-3f4a276
    actor: "{{ lookup('ansible.builtin.env', 'USER') }}"

- name: Go back to the previous good release after a failed gate
  pakashop.infra.release:
    service: api
    state: rolled_back
    release: 20261126T104500Z-3f4a276
    failed_gate: health
"""

RETURN = r"""
current:
  description: The release C(current) points at after the task.
  returned: always
  type: str
  sample: 20261126T104500Z-3f4a276
previous:
  description: The release C(current) pointed at before the task.
  returned: always
  type: str
previous_good:
  description: The newest release other than the current one whose outcome is C(active).
  returned: always
  type: str
releases:
  description:
    - Every release directory, oldest first, after the task (or as it would be, in check mode),
      each as in RV(pakashop.infra.release_info#module:releases).
  returned: always
  type: list
  elements: dict
entry:
  description: The ledger entry the task wrote, if any.
  returned: when the ledger changed
  type: dict
removed:
  description: With O(state=pruned), the releases removed (or that would be, in check mode).
  returned: when state is pruned
  type: list
  elements: str
ledger:
  description: The ledger's entries after the task, oldest first.
  returned: always
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._release import (
    ACTIVATING, ACTIVE, FAILED, ROLLED_BACK, ReleaseTree, outcome_of, previous_good,
    listing, prune_candidates, utc_now)

REQUIRED = {"prepared": ["release", "src", "commit"], "activated": ["release"],
            "confirmed": ["release"]}


class Releases:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.tree = ReleaseTree(self.params["root"], self.params["service"],
                                self.params["ledger_dir"])
        self.entries = self.tree.read_ledger()
        self.ledger_dirty = bool(self.tree.warnings)  # rebuilt: write it back
        self.changed = False
        self.entry = None
        self.before = self.tree.current()
        self.extra = {}

    def record(self, release, action, outcome, **fields):
        meta = self.tree.metadata(release)
        self.entry = {
            "release": release, "action": action, "outcome": outcome, "time": utc_now(),
            "commit": self.params["commit"] or meta.get("commit"),
            "branch": self.params["branch"] or meta.get("branch"),
            "environment": self.params["environment"] or meta.get("environment"),
            "actor": self.params["actor"], "ci_run": self.params["ci_run"], **fields}
        self.entries.append(self.entry)
        self.ledger_dirty = True

    def fail(self, msg):
        self.module.fail_json(msg=f"{self.params['service']}: {msg}", **self.report())

    # --- the states ---------------------------------------------------------

    def prepared(self):
        release = self.params["release"]
        if self.tree.is_complete(release):
            return
        if not os.path.isfile(self.params["src"]) and not self.module.check_mode:
            self.fail(f"the artifact {self.params['src']} is not on the host")
        self.changed = True
        if self.module.check_mode:
            return
        metadata = {"commit": self.params["commit"], "branch": self.params["branch"],
                    "environment": self.params["environment"], "created": utc_now()}
        try:
            self.tree.prepare(release, self.params["src"], metadata, self.install)
        except (OSError, ValueError) as exc:
            self.fail(f"preparing release {release} failed: {exc}")

    def install(self, path):
        command = self.params["install_command"]
        if not command:
            return
        rc, out, err = self.module.run_command(["/bin/sh", "-c", command], cwd=path)
        if rc:
            self.fail(f"the install command `{command}` failed (rc={rc}) in {path}: "
                      f"{(err or out).strip()[-2000:]}")

    def activated(self):
        release = self.params["release"]
        if not self.tree.is_complete(release):
            if not self.module.check_mode:
                self.fail(f"release {release} is not prepared (missing or unfinished); "
                          f"prepare it before activating it")
            self.tree.warnings.append(f"release {release} is not prepared yet: a real run "
                                      f"prepares it before activating it")
        if self.before == release:
            return
        self.changed = True
        self.record(release, "activate", ACTIVATING, previous=self.before)
        if not self.module.check_mode:
            self.tree.swap_current(release)

    def confirmed(self):
        release = self.params["release"]
        if self.tree.current() != release:
            self.fail(f"release {release} is not the current one ({self.before}); "
                      f"only the current release can be confirmed")
        if outcome_of(self.entries, release) == ACTIVE:
            return
        self.changed = True
        self.record(release, "confirm", ACTIVE)

    def rolled_back(self):
        leaving = self.params["release"] or self.before
        if self.before != leaving:
            return  # already left
        target = self.params["to_release"] or previous_good(self.entries, leaving)
        if not target:
            self.fail(f"there is no earlier good release to go back to from {leaving}")
        if target == leaving:
            return  # already there
        if not self.tree.is_complete(target):
            self.fail(f"release {target} is not on the host (or unfinished); "
                      f"`releases` lists what is")
        self.changed = True
        gate = self.params["failed_gate"]
        self.record(leaving, "leave", FAILED if gate else ROLLED_BACK, failed_gate=gate)
        self.record(target, "rollback", ACTIVATING, previous=leaving)
        if not self.module.check_mode:
            self.tree.swap_current(target)

    def pruned(self):
        ids = self.tree.release_ids()
        current = self.tree.current()
        protected = {current, previous_good(self.entries, current)}
        unfinished = {r for r in ids if not self.tree.is_complete(r)}
        doomed = prune_candidates(ids, self.entries, self.params["keep"], protected, unfinished)
        self.extra["removed"] = doomed
        if doomed:
            self.changed = True
            if not self.module.check_mode:
                for release in doomed:
                    self.tree.remove(release)

    # --- the result ---------------------------------------------------------

    def releases(self):
        current = self.tree.current() if not self.module.check_mode else self.after()
        return listing(self.tree, self.entries, current)

    def after(self):
        """`current` after the task (what it would be, in check mode)."""
        if self.entry and self.entry["action"] in ("activate", "rollback"):
            return self.entry["release"]
        return self.before

    def report(self):
        after = self.after()
        result = {"changed": self.changed, "current": after, "previous": self.before,
                  "previous_good": previous_good(self.entries, after),
                  "releases": self.releases(), "ledger": self.entries, **self.extra}
        if self.entry:
            result["entry"] = self.entry
        if self.module._diff:
            result["diff"] = self.diff(after)
        return result

    def diff(self, after):
        if "removed" in self.extra:
            ids = self.tree.release_ids() if self.module.check_mode else \
                sorted(self.tree.release_ids() + self.extra["removed"])
            kept = [r for r in ids if r not in self.extra["removed"]]
            return {"before": "\n".join(ids) + "\n", "after": "\n".join(kept) + "\n",
                    "before_header": "releases", "after_header": "releases"}
        return {"before": {"current": self.before}, "after": {"current": after}}


def main():
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "str", "required": True},
            "state": {"type": "str", "required": True,
                      "choices": ["prepared", "activated", "confirmed", "rolled_back",
                                  "pruned"]},
            "release": {"type": "str"},
            "to_release": {"type": "str"},
            "src": {"type": "path"},
            "commit": {"type": "str"},
            "branch": {"type": "str"},
            "environment": {"type": "str"},
            "install_command": {"type": "str"},
            "failed_gate": {"type": "str"},
            "actor": {"type": "str"},
            "ci_run": {"type": "str"},
            "keep": {"type": "int", "default": 5},
            "root": {"type": "path", "default": "/opt/pakashop"},
            "ledger_dir": {"type": "path", "default": "/var/lib/pakashop/ledger"},
        },
        required_if=[("state", state, fields) for state, fields in REQUIRED.items()],
        supports_check_mode=True,
    )
    if module.params["keep"] < 2:
        module.fail_json(msg="keep must be at least 2: the current release and the one "
                             "a rollback goes back to")
    releases = Releases(module)
    getattr(releases, module.params["state"])()
    if releases.ledger_dirty and not module.check_mode:
        releases.tree.write_ledger(releases.entries)
    for warning in releases.tree.warnings:
        module.warn(warning)
    module.exit_json(**releases.report())


if __name__ == "__main__":
    main()
