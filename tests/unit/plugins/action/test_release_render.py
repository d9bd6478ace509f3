"""release_render renders each service's release exactly as the template
lookup renders it (byte for byte, so a release keeps its id across the
change), for every kind of service, in one task."""

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

CHECKOUT = Path(__file__).resolve().parents[4]
BIN = Path(sys.executable).parent
ROLE = CHECKOUT / "roles/service"
TEMPLATES = yaml.safe_load((ROLE / "vars/main.yml").read_text())["service_release_templates"]
CATALOG = {
    "gateway": {"port": 8080, "health_path": "/healthz", "source_path": "gateway", "upstreams": ["api"],
                "after": ["api"], "exec_start": "/usr/bin/python3 gateway/main.py"},
    "api": {"port": 8100, "instances": 2, "source_path": "api", "exec_start": "/usr/bin/python3 api/main.py",
            "env": {"GREETING": 'say "hi" to $USER\\n'}, "secrets": {"TOKEN": "s3cr`t"},
            "limits": {"MemoryMax": "256M"}, "hardening": {"ProtectHome": "read-only"}},
    "notifications": {"readiness": "notify", "source_path": "notifications",
                      "exec_start": "/usr/bin/python3 notifications/main.py"},
    "legacy": {"port": 8400, "socket": False, "source_path": "legacy", "exec_start": "/usr/bin/legacy --serve"},
}
SOURCES = {name: {"commit": "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed", "label": "20261207T040000Z-3f4a276",
                  "digest": f"{name}-digest", "artifact": f"/tmp/{name}.tar.gz"} for name in CATALOG}


SOCKET_ONLY = " if service_spec.socket else ''"


def play(out):
    looked_up = {  # the template lookup, as roles/service/tasks/plan.yml rendered before release_render
        "ansible.builtin.set_fact": {"looked_up": "{{ looked_up | default({}) | combine({service_name: rendered "
                                                  "| pakashop.infra.release_config(service_name, service_spec, "
                                                  "service_sources[service_name])}) }}"},
        "loop": "{{ service_names }}", "loop_control": {"loop_var": "service_name"},
        "vars": {"rendered": {name: f"{{{{ lookup('ansible.builtin.template', '{ROLE / 'templates' / path}')"
                                    f"{SOCKET_ONLY if name == 'socket' else ''} }}}}"
                              for name, path in TEMPLATES.items()}}}
    return [{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars_files": [str(ROLE / "defaults/main.yml"), str(ROLE / "vars/main.yml")],
        "vars": {"service_catalog": CATALOG, "service_names": list(CATALOG), "service_sources": SOURCES,
                 "service_environment": "staging"},
        "tasks": [
            {"pakashop.infra.release_render": {
                "services": "{{ service_names }}", "catalog": "{{ service_catalog }}",
                "sources": "{{ service_sources }}",
                "templates": {name: str(ROLE / "templates" / path) for name, path in TEMPLATES.items()}},
             "register": "render"},
            looked_up,
            {"ansible.builtin.copy": {"content": "{{ {'render': render.releases, 'lookup': looked_up} | to_json }}",
                                      "dest": str(out), "mode": "0600"}}]}]


def test_every_kind_of_service_renders_as_the_template_lookup_renders_it(tmp_path):
    out, playbook = tmp_path / "said.json", tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play(out)))
    run = subprocess.run(
        [BIN / "ansible-playbook", "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
         str(playbook)], cwd=CHECKOUT, capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_INVENTORY_ENABLED": "ansible.builtin.host_list"})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    said = json.loads(out.read_text())
    assert set(said["render"]) == set(CATALOG)
    for service in CATALOG:
        assert said["render"][service] == said["lookup"][service], service
    api = said["render"]["api"]
    # the catalog reached the files: the env's values, the limits and hardening, one drop-in per instance
    assert 'GREETING="say \\"hi\\" to \\$USER\\\\n"' in api["env"] and "TOKEN=" in api["env"]
    assert "MemoryMax=256M" in api["units"]["units/pakashop-api@.service"]
    assert "ProtectHome=read-only" in api["units"]["units/pakashop-api@.service"]
    assert {"units/pakashop-api@1.socket.d/port.conf", "units/pakashop-api@2.socket.d/port.conf"} <= set(api["units"])
    assert "units/pakashop-legacy@.socket" not in said["render"]["legacy"]["units"]
    assert "Type=notify" in said["render"]["notifications"]["units"]["units/pakashop-notifications@.service"]
