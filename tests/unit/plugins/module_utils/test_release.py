"""The release tree and its ledger, on a temporary folder."""

import io
import json
import os
import stat
import tarfile

import pytest
from ansible_collections.pakashop.infra.plugins.module_utils._release import (
    ACTIVE, FAILED, ReleaseTree, _safe_extract, previous_good, prune_candidates)


def entry(name, kind=tarfile.REGTYPE, link="", text="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info, text.encode()


def crafted(path, *entries):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in entries:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data))
    return path


def artifact(path, files):
    return crafted(path, *(entry(name, text=text) for name, text in files.items()))


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


# --- unpacking: nothing may leave the release ---------------------------------
# The release is <tmp>/opt/api/releases/r1; UP climbs from it to <tmp>, where
# <tmp>/outside/secret stands for a file the artifact must not reach.

UP = "../../../../"


def folder(name):
    return entry(name, tarfile.DIRTYPE, mode=0o755)


def symlink(name, target):
    return entry(name, tarfile.SYMTYPE, target)


def hardlink(name, target):
    return entry(name, tarfile.LNKTYPE, target)


@pytest.fixture(params=["data filter", "fallback"])
def unpacking(request, monkeypatch):
    """Each case twice: with tarfile's data filter, and as on a Python without it."""
    if request.param == "fallback":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python's tarfile has no data filter")
    return request.param


@pytest.fixture
def outside(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret").write_text("root:x:0:0\n")
    return tmp_path / "outside"


def everything_but_the_release(tmp_path, release):
    """Every path under tmp_path outside the release; a file's with its link count and content."""
    seen = []
    for folder_path, folders, files in os.walk(tmp_path):
        folders[:] = [f for f in folders if os.path.join(folder_path, f) != release]
        seen += [(os.path.join(folder_path, name),) for name in folders]
        for name in files:
            info = os.lstat(os.path.join(folder_path, name))
            seen.append((os.path.join(folder_path, name), info.st_nlink, info.st_size, info.st_mtime_ns))
    return sorted(seen)


ATTACKS = {
    "absolute name": (lambda out: [entry(f"{out}/evil", text="x")],
                      "the artifact's entry '{out}/evil' is an absolute path, outside the release"),
    "dot-dot name": (lambda out: [entry(f"api/{UP}../outside/evil", text="x")],
                     f"the artifact's entry 'api/{UP}../outside/evil' has '..' in its path, "
                     f"which can lead outside the release"),
    "symbolic link out": (lambda out: [symlink("logs", f"{UP}outside")],
                          f"the artifact's entry 'logs' is a symbolic link to '{UP}outside', outside the release"),
    "absolute symbolic link": (lambda out: [symlink("logs", str(out))],
                               "the artifact's entry 'logs' is a symbolic link to '{out}', outside the release"),
    "written through a link out": (lambda out: [symlink("a", f"{UP}outside"), entry("a/evil", text="x")],
                                   f"the artifact's entry 'a' is a symbolic link to '{UP}outside', outside the release"),
    "written through a link to the root": (lambda out: [symlink("a", "."), entry("a/x", text="x")],
                                           "the artifact's entry 'a/x' is written through the symbolic link 'a'"),
    "written through a link not yet in the archive": (
        lambda out: [entry("a/x", text="x"), symlink("a", "sub")],
        "the artifact's entry 'a/x' is written through the symbolic link 'a'"),
    "a file at a link's place": (lambda out: [symlink("a", "sub/f"), entry("a", text="x")],
                                 "the artifact's entry 'a' has the name of another entry, the symbolic link to 'sub/f'"),
    "a link that leaves through another link": (
        # the data filter alone lets this order by: b does not exist yet when a is checked
        lambda out: [symlink("a", "b/.."), symlink("b", ".")],
        "the artifact's entry 'a' is a symbolic link to 'b/..', outside the release"),
    "hard link out from a subfolder": (
        # from its own folder the target would be r1/outside/secret, inside; tarfile takes it from the root
        lambda out: [hardlink("a/b/c/d/h", f"{UP}outside/secret")],
        f"the artifact's entry 'a/b/c/d/h' is a hard link to '{UP}outside/secret', outside the release"),
    "absolute hard link": (lambda out: [hardlink("h", f"{out}/secret")],
                           "the artifact's entry 'h' is a hard link to '{out}/secret', outside the release"),
    "hard link through a link out": (lambda out: [symlink("s", "sub"), symlink("sub", UP),
                                                  hardlink("h", "s/outside/secret")],
                                     "the artifact's entry 's' is a symbolic link to 'sub', outside the release"),
    "character device": (lambda out: [entry("dev/mem", tarfile.CHRTYPE)],
                         "the artifact's entry 'dev/mem' is a device file, which a release may not hold"),
    "block device": (lambda out: [entry("dev/sda", tarfile.BLKTYPE)],
                     "the artifact's entry 'dev/sda' is a device file, which a release may not hold"),
    "FIFO": (lambda out: [entry("run/pipe", tarfile.FIFOTYPE)],
             "the artifact's entry 'run/pipe' is a FIFO, which a release may not hold"),
}


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_an_artifact_that_leaves_the_release_is_refused_before_anything_is_written(
        tree, tmp_path, outside, unpacking, attack):
    entries, sentence = attack
    src = crafted(tmp_path / "evil.tgz", entry("api/main.py", text="print('hi')\n"), *entries(outside))
    os.makedirs(tree.releases)
    before = everything_but_the_release(tmp_path, tree.path("r1"))
    with pytest.raises(ValueError) as refused:
        tree.prepare("r1", str(src), {"commit": "c"})
    assert str(refused.value) == sentence.replace("{out}", str(outside))
    assert everything_but_the_release(tmp_path, tree.path("r1")) == before
    assert os.listdir(tree.path("r1")) == [".unfinished"]


def test_a_link_already_in_the_target_is_not_followed_out(tmp_path, outside, unpacking):
    target = tmp_path / "target"
    target.mkdir()
    (target / "logs").symlink_to(outside)
    src = crafted(tmp_path / "a.tgz", entry("logs/evil", text="x"))
    with tarfile.open(src) as tar, pytest.raises(ValueError) as refused:
        _safe_extract(tar, str(target))
    assert str(refused.value) == f"the artifact's entry 'logs/evil' lands outside the release, through a link already in {target}"
    assert os.listdir(outside) == ["secret"]


def test_a_release_left_by_an_interrupted_run_is_unpacked_afresh(tree, tmp_path, outside, unpacking):
    os.makedirs(tree.path("r1"))
    os.symlink(outside, os.path.join(tree.path("r1"), "logs"))
    src = crafted(tmp_path / "a.tgz", folder("logs"), entry("logs/app.log", text="x"))
    tree.prepare("r1", str(src), {"commit": "c"})
    assert os.path.isfile(os.path.join(tree.path("r1"), "logs/app.log"))
    assert not os.path.islink(os.path.join(tree.path("r1"), "logs"))
    assert os.listdir(outside) == ["secret"]


def test_a_good_artifact_keeps_its_own_links_and_loses_setuid(tree, tmp_path, unpacking):
    pnpm = "node_modules/.pnpm/left-pad@1/node_modules/left-pad"
    src = crafted(tmp_path / "good.tgz", folder("."), folder("./api"),
                  entry("./api/main.py", text="print('hi')\n"),
                  entry("api/lib/libx.so.1", text="elf"),
                  entry("bin/setuid", text="x", mode=0o4755), entry("bin/setgid", text="x", mode=0o2775),
                  symlink("api/lib/libx.so", "libx.so.1"),
                  symlink("api/here", "."),
                  symlink("bin/api", "../api/main.py"),
                  hardlink("api/copy.py", "api/main.py"),
                  hardlink("api/lib/libx.so.2", "api/lib/libx.so"),
                  entry(f"{pnpm}/bin/cli.js", text="js"),
                  symlink("node_modules/left-pad", ".pnpm/left-pad@1/node_modules/left-pad"),
                  symlink("node_modules/.bin/left-pad", "../left-pad/bin/cli.js"))
    tree.prepare("r1", str(src), {"commit": "c"})
    release = tree.path("r1")

    def at(name):
        return os.path.join(release, name)
    assert os.readlink(at("api/lib/libx.so")) == "libx.so.1"
    assert os.path.samefile(at("api/here"), at("api"))
    assert os.path.samefile(at("bin/api"), at("api/main.py"))
    assert os.path.samefile(at("api/copy.py"), at("api/main.py"))
    assert os.path.samefile(at("api/lib/libx.so.2"), at("api/lib/libx.so.1"))
    with open(at("node_modules/.bin/left-pad")) as cli:
        assert cli.read() == "js"
    assert stat.S_IMODE(os.stat(at("bin/setuid")).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(at("bin/setgid")).st_mode) == 0o755
    assert tree.is_complete("r1")


def test_the_data_filter_is_used_where_tarfile_has_it(tree, tmp_path, unpacking, monkeypatch):
    calls = []
    extractall = tarfile.TarFile.extractall
    monkeypatch.setattr(tarfile.TarFile, "extractall",
                        lambda tar, path, **kwargs: calls.append(kwargs) or extractall(tar, path, **kwargs))
    prepared(tree, tmp_path, "r1")
    assert [c.get("filter") for c in calls] == (["data"] if unpacking == "data filter" else [None])


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
