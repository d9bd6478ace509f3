"""A private data dir that ``ansible-runner transmit`` carries whole.

    python3 ci/runner_bundle.py OUT

``runner/`` runs in place: its ``project`` is a link to the checkout, which
``ansible-runner run`` follows but ``transmit`` sends as the link itself, so a
worker on another machine (receptor, AWX's execution nodes) would unpack a
project that points at nothing. OUT is the same layout with the project
copied in: ``env/`` as in ``runner/`` (never ``ssh_key`` or ``cmdline``),
``project/`` with ansible.cfg, ``playbooks/``, ``inventories/`` and the
collection installed from its own build into ``project/.cache/collections``,
where ansible.cfg looks. Nothing in OUT links outside it.

    ansible-runner transmit OUT -p playbooks/status.yml | ansible-runner worker | ansible-runner process DIR
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
ENV_FILES = ("settings", "envvars", "extravars")
PROJECT_ITEMS = ("ansible.cfg", "playbooks", "inventories")


def galaxy(*args, collections_path):
    """ansible-galaxy of the Python that runs this script (the venv's)."""
    tool = Path(sys.executable).parent / "ansible-galaxy"
    subprocess.run([str(tool if tool.exists() else "ansible-galaxy"), *args], check=True,
                   stdout=subprocess.DEVNULL, cwd=CHECKOUT,
                   env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path)))


def escaping_links(root):
    """Every link under ``root`` whose target is not inside it."""
    root = Path(root).resolve()
    found = []
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(dirpath, name)
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                found.append(path)
    return found


def bundle(out):
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "env").mkdir(parents=True)
    for name in ENV_FILES:
        shutil.copy2(CHECKOUT / "runner/env" / name, out / "env" / name)
    project = out / "project"
    project.mkdir()
    for item in PROJECT_ITEMS:
        source = CHECKOUT / item
        if source.is_dir():
            shutil.copytree(source, project / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / item)
    with tempfile.TemporaryDirectory() as build:
        collections = project / ".cache/collections"
        galaxy("collection", "build", "--force", "--output-path", build, ".", collections_path=collections)
        tarball = next(Path(build).glob("pakashop-infra-*.tar.gz"))
        galaxy("collection", "install", "--force", "--no-deps", "-p", str(collections), str(tarball),
               collections_path=collections)
    links = escaping_links(out)
    if links:
        raise SystemExit(f"{links[0]} links outside {out}: the worker would unpack it pointing at nothing")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("out", help="the private data dir to write (replaced if it exists)")
    print(bundle(parser.parse_args().out))


if __name__ == "__main__":
    main()
