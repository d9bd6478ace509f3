#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: git_release
short_description: Promote, hotfix-sync and revert the backend's release branches
version_added: 0.1.0
description:
  - Carries out the steps of Pakashop's release process that move a branch of the
    backend repository's remote, with the real C(git) command, from a bare cache of the
    repository on the controller (fetched at every call).
  - M(pakashop.infra.git_release_info) only reads - it resolves the commit to deploy
    and compares a commit with a branch's head.
  - O(operation=promote) moves O(production_branch) to a commit of O(main_branch),
    by a fast-forward push, or by opening a GitHub pull request when
    O(github_repository) is given (and merging it with O(github_merge)).
  - O(operation=hotfix_sync) brings O(main_branch) up to date with O(production_branch)
    after a hotfix.
  - O(operation=revert) reverts one commit on a branch and pushes the revert.
  - It never force-pushes. Each push moves one branch to a commit that descends
    from the branch's head, so the remote refuses it if someone pushed meanwhile;
    the module then fails and says to run again.
  - Run it on the controller, in a play on C(localhost) or with C(delegate_to=localhost).
    It uses the controller's git credentials (ssh agent, credential helper).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.git_cache
attributes:
  check_mode:
    support: full
    details:
      - The cache is fetched and merges and reverts are made in a throwaway checkout
        so that conflicts are found; nothing is pushed and no pull request is opened.
  diff_mode:
    support: partial
    details: Shows how the branch moves, and for O(operation=revert) the patch of the revert.
  platform:
    platforms: posix
options:
  operation:
    description: Which branch to move and how; see the description. There is no default.
    type: str
    required: true
    choices: [promote, hotfix_sync, revert]
  branch:
    description:
      - O(operation=revert) the branch to revert the commit on (required), one branch, not a pattern.
    type: str
  commit:
    description:
      - O(operation=promote) the commit to promote, for example the one staging was verified on;
        by default the head of O(main_branch). It must be on O(main_branch).
      - O(operation=revert) the commit to revert (required). It must be on O(branch).
    type: str
  parent:
    description:
      - O(operation=revert) of a merge commit, the parent whose side is kept (C(git revert -m)),
        counted from 1. V(1), the branch the merge was made on, undoes what the merge brought in.
      - Required for a merge commit, refused for any other.
    type: int
  main_branch:
    description: The branch staging deploys, which production is promoted from.
    type: str
    default: main
  production_branch:
    description: The branch production deploys.
    type: str
    default: production
  author_name:
    description:
      - Who the merge and revert commits are by; by default the controller's
        C(git config user.name), else C(pakashop.infra).
    type: str
  author_email:
    description:
      - The e-mail of O(author_name); by default the controller's C(git config user.email),
        else C(pakashop.infra@localhost).
    type: str
  github_repository:
    description:
      - C(owner/name) of the repository on GitHub. When given, O(operation=promote)
        opens a pull request from O(main_branch) to O(production_branch) instead of pushing
        (and reports the one already open, if any).
    type: str
  github_merge:
    description:
      - O(operation=promote) with O(github_repository), merge the pull request (a merge commit,
        GitHub's C(merge_method=merge)) once it is open, provided its head is still O(commit).
        GitHub refuses while a check the branch protection requires is not green; the module
        then fails naming it, and nothing moves.
      - Check the commit's checks first (M(pakashop.infra.github_checks_info)); promote.yml does.
    type: bool
    default: false
  github_token:
    description:
      - A GitHub token that may open (and merge) pull requests on O(github_repository). Never printed.
      - By default the controller's environment variable C(GITHUB_TOKEN).
    type: str
  github_api_url:
    description: GitHub's REST API, or a GitHub Enterprise server's (C(https://HOST/api/v3)).
    type: str
    default: https://api.github.com
notes:
  - A commit is on a branch when it is reachable from the branch's head (C(git merge-base --is-ancestor)).
  - Conflicts stop O(operation=hotfix_sync) and O(operation=revert) before anything is pushed;
    the conflicting files are in RV(conflicts). Resolve them by hand in a clone, push, and run again.
seealso:
  - module: pakashop.infra.git_release_info
  - name: Pakashop's release process
    description: Branches, environments and the procedures this module carries out.
    link: https://github.com/pakashop/pakashop.infra/blob/main/README.md
author:
  - Pakashop Engineering (@pakashop)
"""

EXAMPLES = r"""
- name: Resolve what staging runs (read-only)
  pakashop.infra.git_release_info:
    repo: git@github.com:pakashop/backend.git
    branch: main
  delegate_to: localhost
  run_once: true
  register: release

- name: Promote the commit staging was verified on (fast-forward push)
  pakashop.infra.git_release:
    repo: git@github.com:pakashop/backend.git
    operation: promote
    commit: "{{ release.commit }}"
  delegate_to: localhost
  run_once: true

- name: Promote through a pull request on GitHub
  pakashop.infra.git_release:
    repo: git@github.com:pakashop/backend.git
    operation: promote
    github_repository: pakashop/backend
    github_token: "{{ lookup('ansible.builtin.env', 'GITHUB_TOKEN') }}"
  delegate_to: localhost
  run_once: true

- name: Bring main up to date with production after a hotfix
  pakashop.infra.git_release:
    repo: git@github.com:pakashop/backend.git
    operation: hotfix_sync
  delegate_to: localhost
  run_once: true

- name: Revert a merge on production, keeping production's side
  pakashop.infra.git_release:
    repo: git@github.com:pakashop/backend.git
    operation: revert
    branch: production
    commit: 3f4a2761c0de
    parent: 1
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
commit:
  description: The commit the branch is at after the operation (or would be, in check mode).
  returned: success
  type: str
  sample: 3f4a2761c0de9b1e2a55a4f0d3a4c1b5e8f6a7b2
branch:
  description: The branch the operation moves (or would move).
  returned: success
  type: str
  sample: production
before:
  description: Where the branch was before the operation.
  returned: success
  type: str
method:
  description:
    - How the branch moved, V(none) when it did not need to.
    - V(push) or V(pull_request) for O(operation=promote); V(fast-forward) or V(merge) for
      O(operation=hotfix_sync); V(revert) for O(operation=revert).
  returned: success
  type: str
  sample: fast-forward
commits:
  description:
    - The commits promoted, brought over from O(production_branch), or added by the revert,
      newest first.
  returned: success
  type: list
  elements: dict
  contains:
    sha:
      description: The commit's sha.
      type: str
    subject:
      description: The first line of its message.
      type: str
    author:
      description: Its author's name.
      type: str
pushed:
  description: Whether a branch of the remote was moved (never in check mode).
  returned: success
  type: bool
pull_request:
  description: The pull request opened or found open, for a promotion through GitHub.
  returned: success and O(operation=promote) and O(github_repository) is given, unless nothing needs promoting
  type: dict
  contains:
    number:
      description: Its number (absent in check mode when it would be opened).
      type: int
    url:
      description: Its page on GitHub.
      type: str
    created:
      description: Whether this run opened it.
      type: bool
    merged:
      description: Whether this run merged it (O(github_merge)); RV(commit) is then the merge commit.
      type: bool
reason:
  description:
    - Why the operation was refused or failed, for a playbook that words it for its users -
      V(not_on_branch), V(merge_needs_parent), V(not_a_merge), V(parent_out_of_range),
      V(branch_pattern), V(github), V(conflict), V(git), or V(refused) for the rest.
  returned: failure
  type: str
  sample: merge_needs_parent
parents:
  description: O(operation=revert) how many parents the commit has.
  returned: failure of O(operation=revert) about O(parent)
  type: int
  sample: 2
conflicts:
  description: The files that conflict; nothing was pushed.
  returned: failure of O(operation=hotfix_sync) or O(operation=revert) on a conflict
  type: list
  elements: str
  sample: [api/main.py]
cache:
  description: The controller's bare cache of O(repo), for example to C(git archive) the commit.
  returned: always
  type: str
msg:
  description: What was done, in one sentence.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.pakashop.infra.plugins.module_utils._git import (
    CACHE_ARGUMENT_SPEC, Refused, commit_of, head_of, is_pattern, run_on_cache, short)
from ansible_collections.pakashop.infra.plugins.module_utils._github import GitHub

LISTED = 10  # commits named in a message


def named(commits):
    shown = ", ".join(f"{short(c['sha'])} {c['subject']}" for c in commits[:LISTED])
    return shown + (f" and {len(commits) - LISTED} more" if len(commits) > LISTED else "")


def moved(branch, before, after, commits):
    """The diff of a branch that moves: the ref line, then the commits it gains."""
    lines = [f"{branch}: {short(before)} -> {short(after)}"]
    lines += [f"+ {short(c['sha'])} {c['subject']}" for c in commits]
    return {"prepared": "\n".join(lines) + "\n"}


def promote(git, p, check_mode):
    main, production = p["main_branch"], p["production_branch"]
    main_head, before = head_of(git, main), head_of(git, production)
    commit = commit_of(git, p["commit"]) if p["commit"] else main_head
    if not git.is_ancestor(commit, main_head):
        raise Refused(f"{short(commit)} is not on {main}: only what {main} has is promoted")
    hotfixes = git.commits(f"{main_head}..{before}")
    if hotfixes:
        raise Refused(f"{production} has {len(hotfixes)} commit(s) that {main} lacks "
                      f"({named(hotfixes)}): run the hotfix sync (playbooks/hotfix_sync.yml) "
                      f"first, then promote again")
    result = {"branch": production, "before": before, "commit": before, "commits": [],
              "pushed": False, "method": "none"}
    if git.is_ancestor(commit, before):
        return {**result, "changed": False,
                "msg": f"{production} already contains {short(commit)}; nothing to promote"}
    lacking = git.commits(f"{commit}..{before}")
    if lacking:
        raise Refused(f"{production} has commits that {short(commit)} lacks "
                      f"({named(lacking)}): promote a newer commit of {main}")
    commits = git.commits(f"{before}..{commit}")
    result.update(commits=commits, changed=True)
    if p["github_repository"]:
        return {**result, **pull_request(git, p, commit, main_head, before, commits, check_mode)}
    if not check_mode:
        git.push(commit, production)
    return {**result, "commit": commit, "pushed": not check_mode, "method": "push",
            "diff": moved(production, before, commit, commits),
            "msg": f"{production} {'would move' if check_mode else 'moved'} from {short(before)} "
                   f"to {short(commit)} by a fast-forward push, promoting {len(commits)} "
                   f"commit(s): {named(commits)}"}


def pull_request(git, p, commit, main_head, before, commits, check_mode):
    main, production, repository = p["main_branch"], p["production_branch"], p["github_repository"]
    if commit != main_head:
        raise Refused(f"a pull request from {main} takes its head {short(main_head)}, not "
                      f"{short(commit)}: verify {short(main_head)} on staging first, or "
                      f"promote {short(commit)} without github_repository (by push)")
    if not p["github_token"]:
        raise Refused(f"a pull request on {repository} needs github_token (or GITHUB_TOKEN "
                      f"in the environment)")
    github = GitHub(p["github_api_url"], repository, p["github_token"])
    found = github.open_pull_request(main, production)
    if found:
        pull = {**found, "created": False}
        said = f"pull request #{found['number']} from {main} to {production} is already open: {found['url']}"
        if not p["github_merge"]:
            return {"changed": False, "method": "pull_request", "pull_request": pull, "msg": said}
    elif check_mode:
        return {"method": "pull_request", "pull_request": {"created": True},
                "msg": f"would open {'and merge ' if p['github_merge'] else ''}a pull request from "
                       f"{main} to {production} on {repository} for {len(commits)} commit(s): {named(commits)}"}
    else:
        opened = github.create_pull_request(
            main, production, f"Promote {main} to {production} ({short(commit)})",
            "Staging was verified on {}.\n\nCommits:\n{}".format(
                commit, "\n".join(f"- {short(c['sha'])} {c['subject']}" for c in commits)))
        pull = {**opened, "created": True}
        said = (f"opened pull request #{opened['number']} from {main} to {production} "
                f"({opened['url']}) for {len(commits)} commit(s): {named(commits)}")
    if not p["github_merge"]:
        return {"method": "pull_request", "pull_request": pull, "msg": said}
    if check_mode:
        return {"method": "pull_request", "pull_request": pull,
                "msg": f"{said}; would merge it, moving {production} to a merge commit of {short(commit)}"}
    merged = github.merge_pull_request(pull["number"], commit,
                                       f"Merge pull request #{pull['number']}: promote {main} to "
                                       f"{production} ({short(commit)})")
    git.fetch()
    return {"changed": True, "method": "pull_request", "pull_request": {**pull, "merged": True},
            "commit": merged, "pushed": True,
            "msg": f"{said}; merged it: {production} moved from {short(before)} to {short(merged)}, "
                   f"a merge commit of {short(commit)}"}


def hotfix_sync(git, p, check_mode):
    main, production = p["main_branch"], p["production_branch"]
    before, production_head = head_of(git, main), head_of(git, production)
    result = {"branch": main, "before": before, "commit": before, "commits": [], "pushed": False}
    if git.is_ancestor(production_head, before):
        return {**result, "changed": False, "method": "none",
                "msg": f"{main} already contains {production} ({short(production_head)}); nothing to sync"}
    commits = git.commits(f"{before}..{production_head}")
    if git.is_ancestor(before, production_head):
        method, after = "fast-forward", production_head
    else:
        method = "merge"
        after = git.commit_on(before, f"merging {production} into {main}", "merge", "--no-ff",
                              "--no-edit", "-m", f"Merge {production} into {main} (hotfix sync)",
                              production_head)
    if not check_mode:
        git.push(after, main)
    return {**result, "changed": True, "commit": after, "commits": commits, "method": method,
            "pushed": not check_mode, "diff": moved(main, before, after, commits),
            "msg": f"{main} {'would catch' if check_mode else 'caught'} up with {production} "
                   f"by a {method} ({short(before)} -> {short(after)}), bringing over "
                   f"{len(commits)} commit(s): {named(commits)}"}


def revert(git, p, check_mode):
    branch, parent = p["branch"], p["parent"]
    if is_pattern(branch):
        raise Refused(f"operation=revert needs one branch, not the pattern {branch}",
                      reason="branch_pattern")
    before = head_of(git, branch)
    commit = commit_of(git, p["commit"])
    if not git.is_ancestor(commit, before):
        raise Refused(f"{short(commit)} is not on {branch}; only a commit on {branch} can be "
                      f"reverted there", reason="not_on_branch", commit=commit)
    parents = git.parents(commit)
    facts = {"commit": commit, "parents": len(parents)}
    if len(parents) > 1 and not parent:
        raise Refused(f"{short(commit)} is a merge commit: give parent=1 to undo what it "
                      f"brought into {branch} (or parent=2..{len(parents)} to keep that side)",
                      reason="merge_needs_parent", **facts)
    if len(parents) <= 1 and parent:
        raise Refused(f"{short(commit)} is not a merge commit: leave parent unset", reason="not_a_merge", **facts)
    if parent and not 1 <= parent <= len(parents):
        raise Refused(f"{short(commit)} has {len(parents)} parents: give parent between 1 "
                      f"and {len(parents)}", reason="parent_out_of_range", **facts)
    result = {"branch": branch, "before": before, "commit": before, "commits": [],
              "pushed": False, "method": "none", "changed": False}
    done = git.git("log", "--format=%H", "-F", f"--grep=This reverts commit {commit}",
                   f"{commit}..{before}")[1].split()
    if done:
        return {**result, "msg": f"{short(commit)} is already reverted on {branch} by {short(done[0])}"}
    after = git.commit_on(before, f"reverting {short(commit)} on {branch}", "revert", "--no-edit",
                          *(["-m", str(parent)] if parent else []), commit)
    if not after:
        return {**result, "msg": f"reverting {short(commit)} changes nothing on {branch}: "
                                 f"its changes are already undone"}
    patch = git.git("diff", before, after)[1]
    if not check_mode:
        git.push(after, branch)
    commits = git.commits(f"{before}..{after}")
    return {**result, "changed": True, "commit": after, "commits": commits, "method": "revert",
            "pushed": not check_mode,
            "diff": {"prepared": moved(branch, before, after, commits)["prepared"] + patch + "\n"},
            "msg": f"{short(commit)} {'would be' if check_mode else 'is'} reverted on {branch} "
                   f"by {short(after)}"}


OPERATIONS = {"promote": promote, "hotfix_sync": hotfix_sync, "revert": revert}


def main():
    module = AnsibleModule(
        argument_spec={
            **CACHE_ARGUMENT_SPEC,
            "operation": {"type": "str", "required": True, "choices": list(OPERATIONS)},
            "branch": {"type": "str"},
            "commit": {"type": "str"},
            "parent": {"type": "int"},
            "main_branch": {"type": "str", "default": "main"},
            "production_branch": {"type": "str", "default": "production"},
            "author_name": {"type": "str"},
            "author_email": {"type": "str"},
            "github_repository": {"type": "str"},
            "github_merge": {"type": "bool", "default": False},
            "github_token": {"type": "str", "no_log": True,
                             "fallback": (env_fallback, ["GITHUB_TOKEN"])},
            "github_api_url": {"type": "str", "default": "https://api.github.com"},
        },
        required_if=[("operation", "revert", ("branch", "commit"))],
        supports_check_mode=True,
    )
    operation = OPERATIONS[module.params["operation"]]
    run_on_cache(module, lambda git: operation(git, module.params, module.check_mode),
                 commits=module.params["operation"] in ("hotfix_sync", "revert"))


if __name__ == "__main__":
    main()
