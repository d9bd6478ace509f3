"""Every task of the role and the playbooks that calls a module with a required
option gives it: a missing one fails only on a host, mid-deploy."""

from pathlib import Path

import pytest
import yaml

CHECKOUT = Path(__file__).resolve().parents[3]
TASK_FILES = sorted([*CHECKOUT.glob("roles/*/tasks/*.yml"), *CHECKOUT.glob("playbooks/**/*.yml"),
                     *CHECKOUT.glob("molecule/*/*.yml")])
# Per module, its required options; a tuple names options of which one is required.
REQUIRED = {"pakashop.infra.release": ("service", "state"),
            "pakashop.infra.release_info": (("service", "services"),),
            "pakashop.infra.service_health": (("service", "services"),)}


def tasks(node):
    """Every task mapping in a parsed task file or playbook, blocks included."""
    if isinstance(node, list):
        for item in node:
            yield from tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("tasks", "block", "rescue", "always", "pre_tasks", "post_tasks", "handlers"):
            yield from tasks(node.get(key) or [])


@pytest.mark.parametrize("path", TASK_FILES, ids=lambda p: str(p.relative_to(CHECKOUT)))
def test_every_call_gives_the_options_its_module_requires(path):
    for task in tasks(yaml.safe_load(path.read_text()) or []):
        for module, options in REQUIRED.items():
            if module in task:
                given = task[module] or {}
                missing = [o for o in options
                           if not any(one in given for one in (o if isinstance(o, tuple) else (o,)))]
                assert not missing, f"{path.name}: task {task.get('name')!r} lacks {missing}"
