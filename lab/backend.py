"""The lab's backend repository: examples/backend pushed into a real bare
repository with the branches the release process uses (main, production),
whose post-receive hook tells the Vercel/GitHub stand-in of every push."""

import os
import shutil
import tempfile
from pathlib import Path

from lab.frontend import install_hook
from lab.util import log, run

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "Pakashop Lab", "GIT_AUTHOR_EMAIL": "lab@pakashop.example",
                "GIT_COMMITTER_NAME": "Pakashop Lab", "GIT_COMMITTER_EMAIL": "lab@pakashop.example"}


def ensure_origin(state_dir, source, frontend_url):
    """Create ``backend.git`` once; later runs keep its history as it is (and
    point its hook at the stand-in's URL of this run)."""
    origin = Path(state_dir) / "backend.git"
    if (origin / "HEAD").exists():
        install_hook(origin, frontend_url)
        return origin
    env = {**os.environ, **GIT_IDENTITY}
    run(["git", "init", "-q", "--bare", "-b", "main", origin])
    install_hook(origin, frontend_url)
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work) / "backend"
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns("__pycache__"))
        git = ["git", "-C", tree]
        run(["git", "init", "-q", "-b", "main", tree])
        run([*git, "add", "-A"])
        run([*git, "commit", "-q", "-m", "Import the sample backend"], env=env)
        run([*git, "push", "-q", origin, "main", "main:production"])
    log(f"backend repository {origin} (branches main, production)")
    return origin
