# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Where the host modules find the services' releases, ledgers, env files
    and units (module_utils/_release.py, _release_config.py)."""

    # The release trees and their ledgers (group/pakashop.infra.host sets both).
    DOCUMENTATION = r"""
options:
  root:
    description: Where the services' release trees live (C(<root>/<service>/releases), C(<root>/<service>/current)).
    type: path
    default: /opt/pakashop
  ledger_dir:
    description: Where the services' ledgers live (C(<ledger_dir>/<service>.json)).
    type: path
    default: /var/lib/pakashop/ledger
"""

    # Where a release's configuration is installed.
    CONFIG = r"""
options:
  config_dir:
    description: Where the services' env files are (C(<config_dir>/<service>.env)).
    type: path
    default: /etc/pakashop
  unit_dir:
    description: Where the services' units and port drop-ins are.
    type: path
    default: /etc/systemd/system
"""
