# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The remote and the controller's cache of it, for git_release and
    git_release_info (module_utils/_git.py: CACHE_ARGUMENT_SPEC, run_on_cache)."""

    DOCUMENTATION = r"""
options:
  repo:
    description:
      - The backend repository's remote, as C(git) takes it (URL or path).
      - A password or token in the URL is never printed.
    type: str
    required: true
  cache_dir:
    description:
      - Where the controller keeps its bare caches of remotes, one per O(repo).
    type: path
    default: ~/.cache/pakashop/git
"""
