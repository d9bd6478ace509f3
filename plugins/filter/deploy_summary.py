# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_summary
short_description: What a deploy did, per host and service, as the lines deploy.yml prints
version_added: 0.2.0
description:
  - One line per host and service, in deploy order - the outcome (V(unchanged), V(deployed), V(restarted),
    V(went back), V(would deploy), ...) and the release it runs (with the one it left when it went back) -
    from the facts the service role leaves on each host (C(service_outcomes), C(service_releases),
    C(service_activation)) and C(deploy_failure), which the playbook sets when a host failed.
  - A host that failed names the service and gate that failed; a host that never activated (a later batch
    after a failure, or a failure while preparing) says so, and so does a host lost during its activation
    (V(unreachable)).
positional: _input, services, environment, commit, branch, check_mode
options:
  _input:
    description: The hosts' variables, C(ansible_play_hosts_all | map('extract', hostvars)).
    type: list
    elements: dict
    required: true
  services:
    description: The services the run deploys, in order.
    type: list
    elements: str
    required: true
  environment:
    description: The environment.
    type: str
    required: true
  commit:
    description: The commit the run deploys.
    type: str
    required: true
  branch:
    description: Its branch.
    type: str
    required: true
  check_mode:
    description: Whether the run was in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Summary
  ansible.builtin.debug:
    msg: >-
      {{ ansible_play_hosts_all | map('extract', hostvars)
         | pakashop.infra.deploy_summary(deploy_services, deploy_environment, deploy_commit, deploy_branch) }}
  run_once: true
"""

RETURN = r"""
_value:
  description: The lines.
  type: list
  elements: str
"""

FORMAT = "{host:<12} {service:<16} {outcome:<14} {release}"


def host_lines(hostvars, services):
    host = hostvars["inventory_hostname"]
    mine = [s for s in services if s in (hostvars.get("pakashop_services") or [])]
    outcomes = dict(hostvars.get("service_outcomes") or {})
    releases = hostvars.get("service_releases") or {}
    activation = hostvars.get("service_activation") or {}
    failure = hostvars.get("deploy_failure")
    running = {}  # what each service runs at the end, by the host's last activation call
    for done in activation.get("services") or []:
        outcomes.setdefault(done["service"], {"activated": "deployed", "went_back": "went back"}.get(
            done["outcome"], done["outcome"]))
        running[done["service"]] = done["previous"] if done["outcome"] == "went_back" else done["release"]
    if failure and activation.get("failed") and activation.get("service"):
        outcomes[activation["service"]] = f"FAILED at gate '{activation.get('gate')}'"
    if activation.get("unreachable"):  # lost during its activation: what it runs is not known
        outcomes = dict.fromkeys(mine, "unreachable")
    lines = []
    for service in mine:
        outcome = outcomes.get(service) or ("not deployed" if failure else "not reached")
        planned = (releases.get(service) or {}).get("release", "")
        release = running.get(service) or planned
        if planned and release != planned:  # it went back, here or with a later host's failure
            release = f"{release} (left {planned})"
        lines.append(FORMAT.format(host=host, service=service, outcome=outcome, release=release).rstrip())
    if failure:
        lines.append(f"{host}: {failure}")
    return lines


def deploy_summary(hosts, services, environment, commit, branch, check_mode=False):
    head = f"{environment}: commit {commit[:12]} ({branch}){' [check mode]' if check_mode else ''}"
    return [head] + [line for hostvars in hosts for line in host_lines(hostvars, services)]


class FilterModule:
    def filters(self):
        return {"deploy_summary": deploy_summary}
