#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: github_checks_info
short_description: Read whether a commit's GitHub checks are green
version_added: 0.3.0
description:
  - Reads a commit's check runs (C(GET /repos/{owner}/{repo}/commits/{ref}/check-runs)) and
    commit statuses (C(.../commits/{ref}/status)) on GitHub, and says whether they let the
    commit through, in RV(state) and one sentence in RV(msg).
  - With O(required_for), only the checks that branch's protection requires count
    (C(.../branches/{branch}/protection/required_status_checks)); when the protection cannot
    be read (the branch is not protected, or the token may not read it), every check counts.
  - A check run counts as green when it completed with C(success), C(neutral) or C(skipped);
    a status when its state is C(success). Of several check runs of one name the newest counts.
    A required check that has not reported, and a commit without any check, are V(pending).
  - With O(wait), polls until RV(state) is no longer V(pending) or O(wait) seconds have passed.
  - Only reads. Run it on the controller (C(delegate_to=localhost)).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - pakashop.infra.api_poll
attributes:
  check_mode:
    support: full
    details: Reads only, so it runs in check mode as it does otherwise.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  repository:
    description: C(owner/name) of the repository on GitHub.
    type: str
    required: true
  ref:
    description: The commit (a sha), branch or tag whose checks are read.
    type: str
    required: true
  required_for:
    description:
      - The branch whose protection names the required checks, for example the branch the
        commit is promoted to. Without it every check counts.
    type: str
  github_token:
    description:
      - A GitHub token that may read the repository's checks and statuses. Never printed.
      - By default the controller's environment variable C(GITHUB_TOKEN).
    type: str
    required: true
  github_api_url:
    description: GitHub's REST API, a GitHub Enterprise server's (C(https://HOST/api/v3)), or the lab's stand-in.
    type: str
    default: https://api.github.com
notes:
  - Tokens are C(no_log) and go only into the C(Authorization) header; no result or message contains one.
seealso:
  - module: pakashop.infra.vercel_deployment_info
  - module: pakashop.infra.git_release
  - name: GitHub REST API, check runs
    description: The endpoints this module calls.
    link: https://docs.github.com/en/rest/checks/runs
author:
  - Pakashop Engineering (@pakashop)
"""

EXAMPLES = r"""
- name: Are the checks production requires green on the commit?
  pakashop.infra.github_checks_info:
    repository: pakashop/backend
    ref: "{{ commit }}"
    required_for: production
    github_token: "{{ lookup('ansible.builtin.env', 'GITHUB_TOKEN') }}"
  register: checks
  delegate_to: localhost

- name: Wait up to five minutes for every check of main's head
  pakashop.infra.github_checks_info:
    repository: pakashop/backend
    ref: main
    wait: 300
  register: checks
  failed_when: checks.state != 'success'
  delegate_to: localhost
"""

RETURN = r"""
state:
  description: V(success) when every counted check is green, V(failure) when one failed, V(pending) otherwise.
  returned: success
  type: str
  sample: success
green:
  description: Whether RV(state) is V(success).
  returned: success
  type: bool
sha:
  description: The commit O(ref) is.
  returned: success
  type: str
checks:
  description: Every check of the commit, one per name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The check run's name or the status's context.
      type: str
      sample: ci
    kind:
      description: "V(check_run) or V(status)."
      type: str
    state:
      description: "V(success), V(pending) or V(failure)."
      type: str
    detail:
      description: The check run's conclusion or status, or the status's state.
      type: str
      sample: in_progress
    url:
      description: Where to read it.
      type: str
required:
  description: The checks O(required_for)'s protection requires, or C(null) when it was not read.
  returned: success
  type: list
  elements: str
counted:
  description: The names of the checks that decided RV(state).
  returned: success
  type: list
  elements: str
failing:
  description: The counted checks that failed.
  returned: success
  type: list
  elements: str
pending:
  description: The counted checks not done yet (or not reported).
  returned: success
  type: list
  elements: str
waited:
  description: Seconds spent waiting.
  returned: success
  type: int
msg:
  description: One sentence on the checks, naming what failed or is not done and its state.
  returned: always
  type: str
  sample: the GitHub checks of 3f4a276 on pakashop/backend are not done (ci in_progress)
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.pakashop.infra.plugins.module_utils._api import POLL_ARGUMENT_SPEC, poll
from ansible_collections.pakashop.infra.plugins.module_utils._github import (
    GitHub, GitHubError, checks_sentence, checks_verdict)


def main():
    module = AnsibleModule(
        argument_spec={
            "repository": {"type": "str", "required": True},
            "ref": {"type": "str", "required": True},
            "required_for": {"type": "str"},
            "github_token": {"type": "str", "required": True, "no_log": True,
                             "fallback": (env_fallback, ["GITHUB_TOKEN"])},
            "github_api_url": {"type": "str", "default": "https://api.github.com"},
            **POLL_ARGUMENT_SPEC,
        },
        supports_check_mode=True,
    )
    p = module.params
    github = GitHub(p["github_api_url"], p["repository"], p["github_token"],
                    purpose="read checks and statuses", timeout=p["timeout"], retries=p["retries"])
    try:
        required = github.required_checks(p["required_for"]) if p["required_for"] else None

        def read():
            runs = github.check_runs(p["ref"])
            return runs, checks_verdict(runs, github.statuses(p["ref"]), required)
        (runs, verdict), waited = poll(read, lambda answer: answer[1]["state"] != "pending",
                                       p["wait"], p["wait_interval"])
    except GitHubError as e:
        module.fail_json(msg=str(e))
    sha = next((r.get("head_sha") for r in runs if r.get("head_sha")), p["ref"])
    module.exit_json(changed=False, sha=sha, green=verdict["state"] == "success",
                     waited=waited,
                     msg=checks_sentence(verdict, sha, p["repository"]), **verdict)


if __name__ == "__main__":
    main()
