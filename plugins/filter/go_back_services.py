# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: go_back_services
short_description: What takes a host back to the releases it ran before a run's activation
version_added: 0.2.0
description:
  - From a host's M(pakashop.infra.release_activate) result, the O(pakashop.infra.release_activate#module:services)
    that take every service it moved back to the release it ran before (C(rollback), C(release) its
    C(previous)), each gated as O(calls) says, with O(reason) for the ledger.
  - A service that did not move, or had nothing before, is left out.
positional: _input, calls, reason
options:
  _input:
    description: The registered result of M(pakashop.infra.release_activate).
    type: dict
    required: true
  calls:
    description: The role's C(service_calls), whose C(activate) of each service says how it is gated.
    type: dict
    required: true
  reason:
    description: Why, recorded in the ledger with each release left.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Go back
  pakashop.infra.release_activate:
    services: "{{ service_activation | pakashop.infra.go_back_services(service_calls, 'the deploy failed on stg-3') }}"
"""

RETURN = r"""
_value:
  description: The services to go back, in the order the activation had them.
  type: list
  elements: dict
"""


def go_back_services(activation, calls, reason):
    return [{**calls[done["service"]]["activate"], "release": done["previous"], "rollback": True, "serves": None,
             "reason": reason}
            for done in (activation or {}).get("services") or [] if done.get("moved") and done.get("previous")]


class FilterModule:
    def filters(self):
        return {"go_back_services": go_back_services}
