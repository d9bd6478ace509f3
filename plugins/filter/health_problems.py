# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: health_problems
short_description: What keeps a host's services from counting as verified, one phrase per instance
version_added: 0.1.0
description:
  - Reads what M(pakashop.infra.service_health) found on one host (the C(results) of a loop over
    services, or a list of single results) and says, for every instance that failed a gate, why,
    in the words a promotion refusal uses, for example V(stg-1 pakashop-api@2 serves 0123456789ab).
  - With O(releases) and O(commit), a service whose current release does not serve O(commit) (its ledger
    does not record it, as the commit was not deployed to the host) says so too, for example
    V(stg-1 api serves 0123456789ab).
  - Instances that passed every gate say nothing, so an empty list means the host is verified.
positional: _input, host, releases, commit
options:
  _input:
    description: The registered results of M(pakashop.infra.service_health), or their C(results) list.
    type: raw
    required: true
  host:
    description: The host's name, which begins each phrase.
    type: str
    required: true
  releases:
    description: The registered results of M(pakashop.infra.release_info) for the same services.
    type: list
    elements: dict
    default: []
  commit:
    description: The commit every service must serve.
    type: str
"""

EXAMPLES = r"""
- name: Note what is not verified on the host
  ansible.builtin.set_fact:
    promote_problems: "{{ promote_health.results | pakashop.infra.health_problems(inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: One phrase per instance that failed a gate, in the order checked.
  type: list
  elements: str
"""


def _phrase(unit, instance):
    status = instance.get("http_status")
    if not status:
        return f"{unit} does not answer its health check"
    if status != 200:
        return f"{unit} is unhealthy (HTTP {status})"
    if instance["gate"] == "identity":
        return f"{unit} is not what answers its port ({instance.get('identity') or 'no name'} does)"
    if instance["gate"] == "version":
        return f"{unit} serves {(instance.get('version') or '')[:12] or 'no version'}"
    return f"{unit} is not active/running ({instance.get('active_state')}/{instance.get('sub_state')})"


def health_problems(results, host, releases=None, commit=None):
    if isinstance(results, dict):
        results = results.get("results", [results])
    problems = [f"{host} {release.get('item')} serves {(release.get('serves') or 'nothing')[:12]}"
                for release in releases or [] if commit and release.get("serves") != commit]
    for result in results:
        for instance in result.get("instances") or []:
            if instance.get("gate"):
                unit = f"{host} {instance['unit'].removesuffix('.service')}"
                problems.append(_phrase(unit, instance))
    return problems


class FilterModule:
    def filters(self):
        return {"health_problems": health_problems}
