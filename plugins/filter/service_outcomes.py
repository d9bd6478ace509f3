# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: service_outcomes
short_description: What a deploy did to each service of a host
version_added: 0.2.0
description:
  - From M(pakashop.infra.service_drift)'s RV(pakashop.infra.service_drift#module:services) and
    M(pakashop.infra.release_activate)'s result (empty when nothing was activated), one word per service -
    V(unchanged), V(deployed) (its release activated), V(restarted) (only instances that did not pass
    their gates), V(went back) (a gate failed and it is on what it ran before), V(failed) (a gate failed
    and there was nothing to go back to); in check mode V(would deploy) and V(would restart).
positional: _input, activation, check_mode
options:
  _input:
    description: The drift of the host's services.
    type: list
    elements: dict
    required: true
  activation:
    description: The registered result of M(pakashop.infra.release_activate), failed or not.
    type: dict
    required: true
  check_mode:
    description: Whether the run was in check mode.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Note each service's outcome
  ansible.builtin.set_fact:
    outcomes: "{{ service_drift.services | pakashop.infra.service_outcomes(service_activation | default({}), ansible_check_mode) }}"
"""

RETURN = r"""
_value:
  description: The outcome of each service, by its name.
  type: dict
"""

WORDS = {"activated": "deployed", "restarted": "restarted", "unchanged": "unchanged", "went_back": "went back",
         "failed": "failed"}
CHECK_WORDS = {"deployed": "would deploy", "restarted": "would restart"}


def service_outcomes(drifts, activation, check_mode=False):
    done = {s["service"]: s["outcome"] for s in (activation or {}).get("services") or []}
    outcomes = {}
    for drift in drifts:
        word = WORDS.get(done.get(drift["service"]), "unchanged")
        outcomes[drift["service"]] = CHECK_WORDS.get(word, word) if check_mode else word
    return outcomes


class FilterModule:
    def filters(self):
        return {"service_outcomes": service_outcomes}
