"""The collection as a user gets it: the galaxy tarball, installed with
ansible-galaxy into a collections folder of its own, and run by the FQCN of
its playbook from a folder outside the checkout, with what the README's
"Using the installed collection" says a user supplies (an inventory with the
collection's settings, two lines of ansible.cfg). Nothing may be written
into the install.
"""

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import BIN, CHECKOUT, Run

# What the tarball may hold (galaxy adds MANIFEST.json and FILES.json).
SHIPPED = {"MANIFEST.json", "FILES.json", "LICENSE", "README.md", "meta", "plugins", "roles",
           "playbooks", "changelogs", "inventories"}
# The README's ansible.cfg for a user of the installed collection.
USER_CFG = """[inventory]
enable_plugins = pakashop.infra.ec2
any_unparsed_is_failed = True
"""


def run(*command, cwd, env=None):
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, check=False)
    return Run(result.returncode, result.stdout + result.stderr)


def listing(root):
    """Every path under root with its type, size and mtime: what a write changes."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            found[str(path.relative_to(root))] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    built = run(BIN / "ansible-galaxy", "collection", "build", "--output-path", out, CHECKOUT, cwd=out)
    assert built.rc == 0, built.output
    (path,) = out.glob("pakashop-infra-*.tar.gz")
    return path


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """(collections path, the collection's install folder)."""
    collections = tmp_path_factory.mktemp("collections")
    # Only this path, and --force: a copy elsewhere (Molecule leaves one in
    # ~/.ansible/collections) must not make galaxy skip the install.
    done = run(BIN / "ansible-galaxy", "collection", "install", "--force", "-p", collections, tarball,
               cwd=collections, env={"ANSIBLE_COLLECTIONS_PATH": str(collections)})
    assert done.rc == 0, done.output
    return collections, collections / "ansible_collections" / "pakashop" / "infra"


def test_the_tarball_holds_the_collection_and_nothing_of_the_checkout(tarball):
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert {n.split("/")[0] for n in names} == SHIPPED
    assert {n for n in names if n.startswith("inventories/") and n.count("/") == 1} == \
        {"inventories/aws", "inventories/group_vars"}, "only the example inventory (and the catalog it links)"
    assert "playbooks/deploy.yml" in names and "meta/execution-environment.yml" in names


def test_the_installed_collection_deploys_the_lab_from_outside_the_checkout(lab, installed, tmp_path):
    collections, install = installed
    # A user's folder: the lab's inventory copied out of the checkout (links
    # resolved, as `cp -rL` copies them) and the README's ansible.cfg.
    work = tmp_path / "work"
    shutil.copytree(CHECKOUT / "inventories" / "lab", work / "inventory")
    (work / "ansible.cfg").write_text(USER_CFG)
    env = {"ANSIBLE_CONFIG": str(work / "ansible.cfg"), "ANSIBLE_COLLECTIONS_PATH": str(collections),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    found = run(BIN / "ansible-galaxy", "collection", "list", "pakashop.infra", cwd=work, env=env)
    # `# <path>` heads each collection path that holds it (warnings may name the checkout's venv)
    paths = [line[2:].strip() for line in found.output.splitlines() if line.startswith("# /")]
    assert paths == [str(collections / "ansible_collections")], found.output
    assert not [p for p in paths if p.startswith(str(CHECKOUT))], "the checkout must not resolve as pakashop.infra here"
    before = listing(install)

    deploy = run(BIN / "ansible-playbook", "pakashop.infra.deploy", "-i", "inventory", "-l", "staging",
                 cwd=work, env=env)

    assert deploy.rc == 0, deploy.output[-3000:]
    head = lab.head("main")
    for service in ("gateway", "api"):
        hosts = [h for h in lab.names("staging") if service in lab.by_name(h).services]
        assert lab.serves(service) == {h: head for h in hosts}
        assert {h: set(v) for h, v in lab.serving(service).items()} == {h: {lab.built_from(service, head)} for h in hosts}
    assert lab.lock("staging") is None
    after = listing(install)
    assert after == before, (f"written into the install: "
                             f"{sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k))}")
    # the git mirror went to the user's cache directory instead
    assert any((tmp_path / "cache" / "pakashop" / "git").iterdir())
