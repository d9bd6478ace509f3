"""Unit tests load the checkout as the collection pakashop.infra, the way
ansible-test units does: through Ansible's collection finder, pointed at the
link that `make venv` creates in .cache/collections."""

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

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


@pytest.fixture
def scripts(monkeypatch):
    """scripts("chaos", "judge", "run"): modules of tests/<folder>/ imported by
    their bare names, as the folder's run.py imports its neighbours, fresh for
    the test (chaos and bench both have a report.py and a run.py)."""
    def import_from(folder, *names):
        path = Path(__file__).resolve().parents[1] / folder
        monkeypatch.syspath_prepend(str(path))
        for neighbour in path.glob("*.py"):
            monkeypatch.delitem(sys.modules, neighbour.stem, raising=False)
        return SimpleNamespace(**{name: importlib.import_module(name) for name in names})
    return import_from
