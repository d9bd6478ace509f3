# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: rollback_batch
short_description: How many hosts a rollback may take at once without a host that stops answering
version_added: 0.3.0
description:
  - C(100%) (every host at once) when every service rolled back keeps answering on each host while its
    instances restart one at a time - systemd's socket holds its port (C(socket), the default for a service
    with a C(port)), or it listens on no port (a worker); otherwise C(1) (one host at a time, so that the
    other hosts answer while one restarts).
  - Each host still restarts its instances in waves behind the gates, never two instances of one service at
    once, goes back by itself when a gate fails, and leaves its target groups in turn with the batch's other hosts.
  - playbooks/rollback.yml takes it as the default of C(rollback_serial).
positional: _input, services
options:
  _input:
    description: The service catalog, C(pakashop_service_catalog).
    type: dict
    required: true
  services:
    description: The services the rollback puts back.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Roll every host back at once where each keeps answering through its own restarts
  ansible.builtin.set_fact:
    rollback_batch: "{{ pakashop_service_catalog | pakashop.infra.rollback_batch(['api', 'gateway']) }}"
"""

RETURN = r"""
_value:
  description: C(100%) or C(1), a batch size for the play's C(serial).
  type: raw
"""

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import answers_while_restarting, entry


def rollback_batch(catalog, services):
    return "100%" if all(answers_while_restarting(entry(catalog, s)) for s in services) else 1


class FilterModule:
    def filters(self):
        return {"rollback_batch": rollback_batch}
