"""systemctl, journalctl and runuser stand-ins on PATH, for what gates on
systemd: the modules (modules/) and the gates themselves (module_utils/)."""

import json
import os
import sys
from pathlib import Path

import pytest

# systemctl, journalctl and runuser on PATH run systemd_stand_in.py, which answers
# as the `units` given to stand_in say.
STAND_IN = Path(__file__).parent / "modules" / "systemd_stand_in.py"


@pytest.fixture
def stand_in(tmp_path):
    """stand_in(units): the environment in which systemctl, journalctl and runuser are
    the stand-ins, systemd seeing each unit as `units` says; their calls go to
    tmp_path/calls, emptied."""
    def environment(units=None):
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name in ("systemctl", "journalctl", "runuser"):
            (bin_dir / name).write_text(f'#!/bin/sh\nexec {sys.executable} {STAND_IN} {name} "$@"\n')
            (bin_dir / name).chmod(0o755)
        (tmp_path / "units.json").write_text(json.dumps(units or {}))
        (tmp_path / "calls").write_text("")
        return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(tmp_path / "calls"),
                "UNITS": str(tmp_path / "units.json")}
    return environment
