# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """How the read-only modules of the frontend half call their API and wait
    (module_utils/_api.py: POLL_ARGUMENT_SPEC, poll)."""

    DOCUMENTATION = r"""
options:
  wait:
    description: Seconds to wait for what was read to be done (see the description); V(0) reads once.
    type: int
    default: 0
  wait_interval:
    description: Seconds between two reads while waiting.
    type: float
    default: 2
  timeout:
    description: Seconds each request may take.
    type: int
    default: 30
  retries:
    description: How many times a request is tried again when the API cannot be reached or answers 429 or 5xx.
    type: int
    default: 3
"""
