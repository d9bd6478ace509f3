# Copyright: Pakashop Engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which services of one wave restart together.

In each wave (instance i of every service), a service restarts after the
services its `after` names, when they restart in the same call; services that
do not wait for each other restart together.

Private to the collection: only its modules import this.
"""

from __future__ import annotations


def levels(services):
    """[[name, ...], ...] from [(name, after), ...]: each level restarts after the ones before it;
    within a level, names keep the order given. `after` entries not in the call are ignored (a
    cycle cannot reach here: the catalog's preflight refuses it)."""
    names = [name for name, _after in services]
    waits = {name: [a for a in (after or []) if a in names and a != name] for name, after in services}
    depth = {}

    def level_of(name, path=()):
        if name not in depth:
            if name in path:
                raise ValueError(f"the services' `after` lists form a cycle: {' -> '.join(path + (name,))}")
            depth[name] = 1 + max((level_of(a, path + (name,)) for a in waits[name]), default=-1)
        return depth[name]

    found = {}
    for name in names:
        found.setdefault(level_of(name), []).append(name)
    return [found[k] for k in sorted(found)]
