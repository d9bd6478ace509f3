import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.filter import service_order as service_order_doc
from ansible_collections.pakashop.infra.plugins.filter.service_order import service_order

CHECKOUT = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("catalog, expected", [
    ({"gateway": {"after": ["api"]}, "api": {}}, ["api", "gateway"]),
    ({"a": {}, "b": {}, "c": {}}, ["a", "b", "c"]),
    ({"c": {"after": ["b"]}, "b": {"after": ["a"]}, "a": None}, ["a", "b", "c"]),
])
def test_dependencies_come_first(catalog, expected):
    assert service_order(catalog) == expected


def test_cycle_is_named():
    with pytest.raises(AnsibleFilterError, match="cycle: a -> b -> a"):
        service_order({"a": {"after": ["b"]}, "b": {"after": ["a"]}})


def test_unknown_dependency_is_named():
    with pytest.raises(AnsibleFilterError, match=r"pakashop_service_catalog.gateway.after names 'ap', which is not in the catalog"):
        service_order({"gateway": {"after": ["ap"]}})


def test_the_doc_example_works_as_written_on_the_repositorys_catalog(tmp_path):
    """The EXAMPLES task, run by ansible-playbook with the catalog of
    inventories/group_vars/all/services.yml, says the catalog in dependency order."""
    tasks = yaml.safe_load(service_order_doc.EXAMPLES)
    out = tmp_path / "said.json"
    tasks = [{**tasks[0], "register": "example"},
             {"ansible.builtin.copy": {"content": "{{ example.msg | to_json }}", "dest": str(out), "mode": "0600"}}]
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local",
                                     "gather_facts": False, "tasks": tasks}]))
    run = subprocess.run(
        [BIN / "ansible-playbook", "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", f"@{CHECKOUT / 'inventories/group_vars/all/services.yml'}", str(play)],
        cwd=CHECKOUT, capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.host_list"})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    said = json.loads(out.read_text())
    catalog = yaml.safe_load((CHECKOUT / "inventories/group_vars/all/services.yml").read_text())
    assert said == service_order(catalog["pakashop_service_catalog"])
    assert said.index("api") < said.index("gateway")
