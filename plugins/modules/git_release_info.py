#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: git_release_info
short_description: Resolve a release's commit on a branch, or compare a commit with a branch's head
version_added: 0.1.0
description:
  - Reads the backend repository's remote with the real C(git) command, from a bare
    cache of the repository on the controller (fetched at every call), and returns
    facts. It never changes a branch, a tag or anything on the remote.
  - With O(ref) (or neither O(ref) nor O(commit)), finds the commit to deploy and
    checks that it is on O(branch) (the environment's branch, or a pattern such as
    V(feature/*)).
  - With O(commit), says how many commits it is behind and ahead of the head of
    O(branch); the commit need not be on the branch.
  - M(pakashop.infra.git_release) moves the branches (promote, hotfix sync, revert).
  - Run it on the controller, in a play on C(localhost) or with C(delegate_to=localhost).
    It uses the controller's git credentials (ssh agent, credential helper).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.git_cache
attributes:
  check_mode:
    support: full
    details: Reads only (it fetches the controller's cache), so it runs in check mode as it does otherwise.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  branch:
    description:
      - The environment's branch, or a pattern such as V(feature/*) (C(fnmatch) rules)
        that any matching branch satisfies.
      - A pattern needs O(ref), and cannot be compared with (O(commit)).
    type: str
    required: true
  ref:
    description:
      - What to resolve, a branch, tag or commit; by default the head of O(branch).
      - When it names a branch, that branch must be O(branch) or match it; a tag or commit
        must be reachable from O(branch) (from a matching branch, for a pattern).
    type: str
  commit:
    description:
      - A commit (sha, tag or branch) to compare with the head of O(branch), for example
        the one an environment runs.
    type: str
  sources:
    description:
      - The folders each release is made of at the commit, by the release's name
        (for example C(api) - C(api) and C(common)); RV(sources) says, for each, which commit last changed them and a
        digest of their content, so that a release is named by its content, not by the commit.
    type: dict
    default: {}
notes:
  - A commit is on a branch when it is reachable from the branch's head (C(git merge-base --is-ancestor)).
seealso:
  - module: pakashop.infra.git_release
  - name: Pakashop's release process
    description: Branches, environments and the procedures this module serves.
    link: https://github.com/pakashop/pakashop.infra/blob/main/README.md
author:
  - Pakashop Engineering (@pakashop)
"""

EXAMPLES = r"""
- name: Resolve what staging deploys (the head of main, or a tag or sha on main)
  pakashop.infra.git_release_info:
    repo: git@github.com:pakashop/backend.git
    branch: main
    ref: "{{ release_ref | default(omit) }}"
  delegate_to: localhost
  run_once: true
  register: release

- name: Resolve a preview branch
  pakashop.infra.git_release_info:
    repo: git@github.com:pakashop/backend.git
    branch: feature/*
    ref: feature/new-checkout
  delegate_to: localhost
  run_once: true

- name: How far the commit production runs is behind main
  pakashop.infra.git_release_info:
    repo: git@github.com:pakashop/backend.git
    branch: main
    commit: 3f4a2761c0de
  delegate_to: localhost
  run_once: true
  register: production_vs_main
"""

RETURN = r"""
commit:
  description: The full sha of O(ref) (or of the head of O(branch)), or of O(commit).
  returned: success
  type: str
  sample: 3f4a2761c0de9b1e2a55a4f0d3a4c1b5e8f6a7b2
branch:
  description:
    - The branch. For a pattern, the matching branch the commit was found on
      (the one O(ref) names, if it names one).
  returned: success
  type: str
  sample: main
committed_at:
  description: The commit's committer time, UTC, ISO 8601.
  returned: success
  type: str
  sample: "2025-01-31T10:04:59Z"
subject:
  description: The first line of the commit's message.
  returned: success
  type: str
  sample: Faster checkout
behind:
  description: How many commits the head of O(branch) has that O(commit) lacks.
  returned: success and O(commit) is given
  type: int
  sample: 3
ahead:
  description: How many commits O(commit) has that the head of O(branch) lacks.
  returned: success and O(commit) is given
  type: int
  sample: 0
sources:
  description:
    - For each name of O(sources), its folders at the commit.
    - C(commit) and C(committed_at) - the newest commit up to the resolved one that changed any of them,
      the one the release is built from; C(label) - its UTC time and short sha, the readable front of a
      release id (C(20261126T104500Z-3f4a276)); C(digest) - the SHA-256 of the folders' git trees, the
      same for the same content whatever the commit; C(missing) - the folders the commit does not have.
  returned: success and O(sources) is given
  type: dict
  sample: {api: {commit: 3f4a2761c0de9b1e2a55a4f0d3a4c1b5e8f6a7b2, committed_at: "2026-11-26T10:45:00Z",
                 label: 20261126T104500Z-3f4a276, digest: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,
                 missing: []}}
reason:
  description: Why the call failed - V(git) when git did, V(refused) for the rest.
  returned: failure
  type: str
  sample: refused
cache:
  description: The controller's bare cache of O(repo), for example to C(git archive) the commit.
  returned: always
  type: str
msg:
  description: What was found, in one sentence.
  returned: always
  type: str
"""

import datetime
import fnmatch
import hashlib

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pakashop.infra.plugins.module_utils._git import (
    CACHE_ARGUMENT_SPEC, Refused, commit_of, head_of, is_pattern, run_on_cache, short)


def described(git, sha):
    at = datetime.datetime.fromtimestamp(git.committed_at(sha), datetime.timezone.utc)
    return {"commit": sha, "subject": git.subject(sha), "committed_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def resolve(git, branch, ref):
    if is_pattern(branch) and not ref:
        raise Refused(f"branch {branch} is a pattern, so it has no single head: give ref, "
                      f"the branch (or a commit on one) to use")
    ref = ref or branch
    name = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else ref
    if not git.has_ref(f"refs/tags/{name}") and git.has_ref(f"refs/heads/{name}"):
        if not fnmatch.fnmatchcase(name, branch):
            raise Refused(f"{ref} is a branch other than {branch}, and only {branch} is deployed "
                          f"here: give {'a matching branch' if is_pattern(branch) else branch}, "
                          f"or a tag or commit on it")
        found, sha = name, git.head(name)
    else:
        sha = commit_of(git, ref)
        if is_pattern(branch):
            matching = sorted(b for b in git.branches_containing(sha)
                              if fnmatch.fnmatchcase(b, branch))
            found = matching[0] if matching else None
        else:
            found = branch if git.is_ancestor(sha, head_of(git, branch)) else None
        if not found:
            named_ref = short(sha) if sha.startswith(ref) else f"{ref} ({short(sha)})"
            raise Refused(f"{named_ref} is not on {branch}: only commits reachable "
                          f"from {branch} are deployed from it; merge it there first")
    return {**described(git, sha), "branch": found, "msg": f"{ref} is {short(sha)}, on {found}"}


def source(git, commit, paths):
    """The folders `paths` at `commit`: the newest commit that changed them, and a digest of their trees."""
    trees = {path: git.commit_of_path(commit, path) for path in paths}
    missing = [path for path, tree in trees.items() if tree is None]
    built_from = git.git("log", "-1", "--format=%H", commit, "--", *paths)[1] or commit
    found = described(git, built_from)
    stamp = found["committed_at"].replace("-", "").replace(":", "")
    text = "".join(f"{path}\t{tree}\n" for path, tree in sorted(trees.items()))
    return {"commit": built_from, "committed_at": found["committed_at"], "label": f"{stamp}-{built_from[:7]}",
            "digest": hashlib.sha256(text.encode()).hexdigest(), "missing": missing}


def compare(git, branch, commit):
    if is_pattern(branch):
        raise Refused(f"branch {branch} is a pattern, so it has no single head to compare "
                      f"{commit} with: give one branch")
    head, sha = head_of(git, branch), commit_of(git, commit)
    behind, ahead = len(git.commits(f"{sha}..{head}")), len(git.commits(f"{head}..{sha}"))
    return {**described(git, sha), "branch": branch, "behind": behind, "ahead": ahead,
            "msg": f"{short(sha)} is {behind} commit(s) behind and {ahead} ahead of {branch} "
                   f"({short(head)})"}


def main():
    module = AnsibleModule(
        argument_spec={
            **CACHE_ARGUMENT_SPEC,
            "branch": {"type": "str", "required": True},
            "ref": {"type": "str"},
            "commit": {"type": "str"},
            "sources": {"type": "dict", "default": {}},
        },
        mutually_exclusive=[("ref", "commit")],
        supports_check_mode=True,
    )
    p = module.params

    def read(git):
        found = compare(git, p["branch"], p["commit"]) if p["commit"] else resolve(git, p["branch"], p["ref"])
        if p["sources"] and p["commit"]:
            raise Refused("sources names what a release is made of at the commit to deploy: give it with ref, not commit")
        if p["sources"]:
            found["sources"] = {name: source(git, found["commit"], list(paths)) for name, paths in p["sources"].items()}
        return {**found, "changed": False}
    run_on_cache(module, read)


if __name__ == "__main__":
    main()
