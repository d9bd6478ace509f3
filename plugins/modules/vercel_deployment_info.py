#!/usr/bin/python
# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vercel_deployment_info
short_description: Read the frontend's deployments on Vercel
version_added: 0.3.0
description:
  - Lists a Vercel project's deployments, newest first (C(GET /v6/deployments)), filtered
    by O(target), O(sha), O(branch) and O(state); or reads one deployment by its id or URL
    (C(GET /v13/deployments/{idOrUrl})) with O(deployment_id).
  - RV(deployment) is the newest match; RV(msg) says in one sentence what it is, for
    example C(the Vercel deployment of 3f4a276 for staging is BUILDING (dpl_...)).
  - With O(wait), polls until the newest match has ended (V(READY), V(ERROR) or
    V(CANCELED)) or O(wait) seconds have passed, and waits for a deployment to appear when
    there is none yet (Vercel starts one a moment after a push).
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
  project_id:
    description: The Vercel project's id (C(prj_...)) or name. Required unless O(deployment_id) is given.
    type: str
  team_id:
    description: The team the project belongs to (C(team_...)), for a project that is not the token owner's.
    type: str
  deployment_id:
    description: One deployment's id (C(dpl_...)) or URL; then the filters are not used.
    type: str
  target:
    description:
      - The environment the deployments are for, V(production), V(staging) (a custom
        environment) or V(preview).
    type: str
  sha:
    description: Only deployments of this commit (the full sha, C(meta.githubCommitSha)).
    type: str
  branch:
    description: Only deployments of this branch (C(meta.githubCommitRef)).
    type: str
  state:
    description: Only deployments in one of these states.
    type: list
    elements: str
    choices: [QUEUED, INITIALIZING, BUILDING, READY, ERROR, CANCELED]
  limit:
    description: How many deployments to list at most.
    type: int
    default: 20
  vercel_token:
    description:
      - A Vercel access token that may read the project's deployments. Never printed.
      - By default the controller's environment variable C(VERCEL_TOKEN).
    type: str
    required: true
  vercel_api_url:
    description: Vercel's REST API (the lab's stand-in, on loopback, in the lab).
    type: str
    default: https://api.vercel.com
notes:
  - Tokens are C(no_log) and go only into the C(Authorization) header; no result or message contains one.
seealso:
  - module: pakashop.infra.github_checks_info
  - name: Vercel REST API, deployments
    description: The endpoints this module calls.
    link: https://vercel.com/docs/rest-api/deployments
author:
  - Pakashop Engineering (@pakashop)
"""

EXAMPLES = r"""
- name: Is the staging frontend of the commit READY?
  pakashop.infra.vercel_deployment_info:
    project_id: prj_pakashopfrontend
    target: staging
    sha: "{{ commit }}"
    vercel_token: "{{ lookup('ansible.builtin.env', 'VERCEL_TOKEN') }}"
  register: staging_frontend
  delegate_to: localhost

- name: Wait up to five minutes for the production frontend of the commit
  pakashop.infra.vercel_deployment_info:
    project_id: prj_pakashopfrontend
    target: production
    sha: "{{ commit }}"
    wait: 300
  register: production_frontend
  failed_when: production_frontend.state != 'READY'
  delegate_to: localhost

- name: One deployment by id
  pakashop.infra.vercel_deployment_info:
    deployment_id: dpl_89qyp1cskzkLrVicDaZoDbjyHuDJ
  delegate_to: localhost
"""

RETURN = r"""
deployments:
  description: The matching deployments, newest first.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The deployment's id.
      type: str
      sample: dpl_89qyp1cskzkLrVicDaZoDbjyHuDJ
    url:
      description: Where it answers.
      type: str
      sample: https://pakashop-web-7d1f3a9-pakashop.vercel.app
    state:
      description: QUEUED, INITIALIZING, BUILDING, READY, ERROR or CANCELED.
      type: str
      sample: READY
    target:
      description: production, staging or preview.
      type: str
      sample: staging
    commit:
      description: The commit it was built from (C(meta.githubCommitSha)).
      type: str
    branch:
      description: The branch it was built from (C(meta.githubCommitRef)).
      type: str
      sample: main
    created_at:
      description: When it was created (UTC).
      type: str
      sample: "2026-12-01T10:15:00Z"
    age_seconds:
      description: Seconds since it was created.
      type: int
      sample: 95
    inspector_url:
      description: Its page on Vercel.
      type: str
deployment:
  description: The newest matching deployment (as in RV(deployments)), or C(null) when there is none.
  returned: success
  type: dict
state:
  description: The state of RV(deployment), or V(MISSING) when there is none.
  returned: success
  type: str
  sample: BUILDING
ready:
  description: Whether RV(deployment) is READY.
  returned: success
  type: bool
waited:
  description: Seconds spent waiting.
  returned: success
  type: int
msg:
  description: One sentence on RV(deployment), or why nothing could be read.
  returned: always
  type: str
  sample: the Vercel deployment of 3f4a276 for staging is READY at https://pakashop-web-7d1f3a9-pakashop.vercel.app
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.pakashop.infra.plugins.module_utils._api import POLL_ARGUMENT_SPEC, poll
from ansible_collections.pakashop.infra.plugins.module_utils._vercel import (
    FINAL, STATES, Vercel, VercelError, deployment_sentence)


def read(vercel, p):
    if p["deployment_id"]:
        return [vercel.deployment(p["deployment_id"])]
    return vercel.deployments(p["project_id"], target=p["target"], sha=p["sha"], branch=p["branch"],
                              state=p["state"], limit=p["limit"])


def main():
    module = AnsibleModule(
        argument_spec={
            "project_id": {"type": "str"},
            "team_id": {"type": "str"},
            "deployment_id": {"type": "str"},
            "target": {"type": "str"},
            "sha": {"type": "str"},
            "branch": {"type": "str"},
            "state": {"type": "list", "elements": "str", "choices": list(STATES)},
            "limit": {"type": "int", "default": 20},
            "vercel_token": {"type": "str", "required": True, "no_log": True,
                             "fallback": (env_fallback, ["VERCEL_TOKEN"])},
            "vercel_api_url": {"type": "str", "default": "https://api.vercel.com"},
            **POLL_ARGUMENT_SPEC,
        },
        required_one_of=[("project_id", "deployment_id")],
        supports_check_mode=True,
    )
    p = module.params
    vercel = Vercel(p["vercel_api_url"], p["vercel_token"], team_id=p["team_id"],
                    timeout=p["timeout"], retries=p["retries"])
    try:
        found, waited = poll(lambda: read(vercel, p), lambda found: found and found[0]["state"] in FINAL,
                             p["wait"], p["wait_interval"])
    except VercelError as e:
        module.fail_json(msg=str(e))
    newest = found[0] if found else None
    for d in found:
        d.pop("created_ms", None)
    module.exit_json(changed=False, deployments=found, deployment=newest,
                     state=newest["state"] if newest else "MISSING",
                     ready=bool(newest and newest["state"] == "READY"),
                     waited=waited,
                     msg=deployment_sentence(newest, p["sha"], p["target"]))


if __name__ == "__main__":
    main()
