# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Where a service's instances answer their health check (module_utils/_health.py)."""

    DOCUMENTATION = r"""
options:
  port:
    description: The port of instance 1; instance I(i) listens on O(port) + I(i) - 1.
    type: int
    required: true
  health_path:
    description: The health endpoint's path; it answers JSON with a C(version) key.
    type: str
    default: /healthz
  address:
    description: The address the health endpoints are asked on.
    type: str
    default: 127.0.0.1
"""
