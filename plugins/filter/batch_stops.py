# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: batch_stops
short_description: Whether a batch's failures stop a run before its next batch
version_added: 0.2.0
description:
  - The rule of Ansible's C(max_fail_percentage), for a play that rescues its hosts' failures so
    that the run can still release its lock, go back and print its summary - a batch stops the run
    when every one of its hosts failed, or more than O(max_fail_percentage) of them did.
positional: _input, failed, max_fail_percentage
options:
  _input:
    description: The hosts of the batch, C(ansible_play_batch).
    type: list
    elements: str
    required: true
  failed:
    description: How many hosts of the batch failed.
    type: int
    required: true
  max_fail_percentage:
    description: The share of a batch that may fail, 0 to 100.
    type: float
    required: true
"""

EXAMPLES = r"""
- name: Stop the deploy after this batch when too many of its hosts failed
  ansible.builtin.set_fact:
    deploy_stopped: true
  delegate_to: localhost
  delegate_facts: true
  run_once: true
  when: ansible_play_batch | pakashop.infra.batch_stops(failures_here, deploy_max_fail_percentage)
"""

RETURN = r"""
_value:
  description: True when the run stops after this batch.
  type: bool
"""


def batch_stops(batch, failed, max_fail_percentage):
    batch, failed = list(batch), int(failed)
    return failed > 0 and (failed >= len(batch) or failed * 100 / len(batch) > float(max_fail_percentage))


class FilterModule:
    def filters(self):
        return {"batch_stops": batch_stops}
