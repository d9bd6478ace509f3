# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: run_ends
short_description: Whether the current batch is the last one a serial play will run
version_added: 0.1.0
description:
  - A play with C(serial) runs its hosts in batches. It ends after the batch that holds its last
    host, or after a batch in which every host failed, or more than O(max_fail_percentage) of
    them did (the rule Ansible applies), so the tasks that must run once at the end of a run
    (release the lock, print the summary) run in that batch.
positional: _input, batch, failed, max_fail_percentage
options:
  _input:
    description: All the play's hosts, C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  batch:
    description: The hosts of this batch, C(ansible_play_batch).
    type: list
    elements: str
    required: true
  failed:
    description: How many hosts of this batch failed.
    type: int
    required: true
  max_fail_percentage:
    description: The play's C(max_fail_percentage).
    type: float
    required: true
"""

EXAMPLES = r"""
- name: Release the deploy lock after the last batch
  ansible.builtin.import_tasks: tasks/unlock.yml
  when: ansible_play_hosts_all | pakashop.infra.run_ends(ansible_play_batch, failures_here, 0)
"""

RETURN = r"""
_value:
  description: True when no batch comes after this one.
  type: bool
"""


def run_ends(hosts, batch, failed, max_fail_percentage):
    batch, failed = list(batch), int(failed)
    if not batch or hosts[-1] in batch:
        return True
    return failed > 0 and (failed == len(batch) or failed * 100 / len(batch) > float(max_fail_percentage))


class FilterModule:
    def filters(self):
        return {"run_ends": run_ends}
