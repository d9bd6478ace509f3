"""module_defaults on group/pakashop.infra.host reach every module of the
group: a playbook on this controller (connection local) reads a release tree
that only the group's defaults point at."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

CHECKOUT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/pakashop.infra.host:
      root: {root}
      ledger_dir: {ledger}
  tasks:
    - pakashop.infra.release_info:
        service: api
      register: found
    - ansible.builtin.copy:
        content: "{{{{ found | to_json }}}}"
        dest: {out}
        mode: "0600"
"""


def test_the_host_group_sets_root_and_ledger_dir_for_its_modules(tmp_path):
    release = tmp_path / "srv/api/releases/20261201T101500Z-3f4a276"
    release.mkdir(parents=True)
    (release / "REVISION").write_text("3f4a276" + "0" * 33 + "\n")
    (tmp_path / "srv/api/current").symlink_to("releases/20261201T101500Z-3f4a276")
    (tmp_path / "ledger").mkdir()
    playbook = tmp_path / "play.yml"
    out = tmp_path / "found.json"
    playbook.write_text(PLAYBOOK.format(root=tmp_path / "srv", ledger=tmp_path / "ledger", out=out))
    run = subprocess.run([BIN / "ansible-playbook", "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)], cwd=CHECKOUT,
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.host_list"})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    found = json.loads(out.read_text())
    assert found["current"] == "20261201T101500Z-3f4a276"


def test_every_module_of_the_host_group_takes_root_and_ledger_dir():
    groups = yaml.safe_load((CHECKOUT / "meta/runtime.yml").read_text())["action_groups"]
    for module in groups["host"]:
        doc = (CHECKOUT / f"plugins/modules/{module}.py").read_text()
        documented = yaml.safe_load(doc.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
        # documented once, in the host_paths doc fragment, for every module of the group
        assert "pakashop.infra.host_paths" in documented["extends_documentation_fragment"], module
        code = doc.split('RETURN = r"""', 1)[1]  # the module's code, after its documentation
        assert '"root":' in code and '"ledger_dir":' in code, f"{module}'s argument spec lacks root or ledger_dir"
