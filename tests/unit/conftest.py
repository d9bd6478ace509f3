"""Unit tests load the checkout as the collection pakashop.infra, the way
ansible-test units does: through Ansible's collection finder, pointed at the
link that `make venv` creates in .cache/collections."""

from pathlib import Path

import pytest
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

COLLECTIONS = Path(__file__).resolve().parents[2] / ".cache/collections"
_AnsibleCollectionFinder(paths=[str(COLLECTIONS)])._install()

UNIT_TIMEOUT = 60  # seconds; the slowest unit test takes about 4 (pytest.ini has the suite's default)


def pytest_collection_modifyitems(items):
    """Every unit test without a timeout of its own fails after UNIT_TIMEOUT."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(item.path).resolve().parents and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT))
