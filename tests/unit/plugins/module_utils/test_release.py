"""The release tree and its ledger, on a temporary folder."""

import io
import json
import os
import tarfile

import pytest
from ansible_collections.pakashop.infra.plugins.module_utils._release import (
    ACTIVE, FAILED, ReleaseTree, previous_good, prune_candidates)


def artifact(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tree(tmp_path):
    return ReleaseTree(str(tmp_path / "opt"), "api", str(tmp_path / "ledger"))


def prepared(tree, tmp_path, release, commit="c" * 40):
    src = artifact(tmp_path / f"{release}.tgz", {"api/main.py": "print('hi')\n"})
    tree.prepare(release, str(src), {"commit": commit, "branch": "main",
                                     "environment": "staging", "created": "t"})


def test_prepare_unpacks_writes_revision_and_completes(tree, tmp_path):
    prepared(tree, tmp_path, "r1", commit="a" * 40)
    assert tree.is_complete("r1")
    with open(os.path.join(tree.path("r1"), "REVISION")) as revision:
        assert revision.read().strip() == "a" * 40
    assert os.path.exists(os.path.join(tree.path("r1"), "api/main.py"))


def test_an_interrupted_prepare_stays_unfinished(tree, tmp_path):
    def crash(path):
        raise OSError("disk full")
    src = artifact(tmp_path / "r1.tgz", {"a": "1"})
    with pytest.raises(OSError):
        tree.prepare("r1", str(src), {"commit": "c"}, install=crash)
    assert tree.exists("r1") and not tree.is_complete("r1")


def test_an_artifact_that_escapes_the_release_is_refused(tree, tmp_path):
    src = artifact(tmp_path / "evil.tgz", {"../../etc/evil": "x"})
    with pytest.raises(ValueError, match="outside the release"):
        tree.prepare("r1", str(src), {"commit": "c"})


def test_swap_replaces_current_by_rename(tree, tmp_path):
    prepared(tree, tmp_path, "r1")
    prepared(tree, tmp_path, "r2")
    tree.swap_current("r1")
    tree.swap_current("r2")
    assert tree.current() == "r2"
    assert os.readlink(tree.current_link) == "releases/r2"
    assert not [n for n in os.listdir(tree.base) if n.startswith(".current")]


@pytest.mark.parametrize("content", ["{not json", '{"entries": 3}', ""])
def test_a_corrupt_ledger_is_rebuilt_with_a_warning(tree, tmp_path, content):
    prepared(tree, tmp_path, "r1")
    prepared(tree, tmp_path, "r2")
    tree.swap_current("r2")
    os.makedirs(os.path.dirname(tree.ledger_path))
    with open(tree.ledger_path, "w") as ledger:
        ledger.write(content)
    entries = tree.read_ledger()
    assert [e["release"] for e in entries] == ["r1", "r2"]
    assert entries[-1]["outcome"] == ACTIVE
    assert "rebuilt" in tree.warnings[0]


def test_ledger_is_written_whole_and_private(tree):
    tree.write_ledger([{"release": "r1", "outcome": ACTIVE}])
    assert oct(os.stat(tree.ledger_path).st_mode & 0o777) == "0o600"
    with open(tree.ledger_path) as ledger:
        assert json.load(ledger)["entries"] == [{"release": "r1", "outcome": ACTIVE}]


def entries(*pairs):
    return [{"release": r, "outcome": o} for r, o in pairs]


@pytest.mark.parametrize("history, current, expected", [
    (entries(("r1", ACTIVE), ("r2", ACTIVE), ("r3", "activating")), "r3", "r2"),
    (entries(("r1", ACTIVE), ("r2", ACTIVE), ("r3", FAILED)), "r2", "r1"),
    (entries(("r1", ACTIVE), ("r2", FAILED), ("r3", "activating")), "r3", "r1"),
    (entries(("r1", ACTIVE), ("r1", "rolled_back"), ("r2", ACTIVE)), "r2", None),
    ([], None, None),
])
def test_previous_good_skips_failed_and_left_releases(history, current, expected):
    assert previous_good(history, current) == expected


@pytest.mark.parametrize("ids, history, keep, protected, unfinished, expected", [
    # keep 3 of 5: the two least recently used go
    (["r1", "r2", "r3", "r4", "r5"], entries(*[(f"r{i}", ACTIVE) for i in range(1, 6)]),
     3, {"r5", "r4"}, set(), ["r1", "r2"]),
    # failed releases go before older good ones
    (["r1", "r2", "r3", "r4"], entries(("r1", ACTIVE), ("r2", ACTIVE), ("r3", FAILED), ("r4", ACTIVE)),
     3, {"r4", "r2"}, set(), ["r3"]),
    # unfinished ones always go, even under the limit
    (["r1", "r2"], entries(("r1", ACTIVE)), 5, {"r1"}, {"r2"}, ["r2"]),
    # never the protected ones, even over the limit
    (["r1", "r2", "r3"], entries(("r1", ACTIVE), ("r2", ACTIVE), ("r3", ACTIVE)),
     2, {"r1", "r3"}, set(), ["r2"]),
])
def test_prune_candidates(ids, history, keep, protected, unfinished, expected):
    assert prune_candidates(ids, history, keep, protected, unfinished) == expected
