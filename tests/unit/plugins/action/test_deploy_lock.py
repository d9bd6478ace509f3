"""The deploy_lock action's hosts store reaches the hosts with what the run's
command line gave (user, key, extra vars), as the run's own tasks do."""

import os

from ansible_collections.pakashop.infra.plugins.action.deploy_lock import cli_options, transport


def test_the_command_line_s_user_key_and_extra_vars_are_handed_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = {"remote_user": "admin", "private_key_file": "keys/deploy", "extra_vars": ("@vars.yml", "ansible_port=2222")}
    assert cli_options(cli) == ["-u", "admin", "--private-key", str(tmp_path / "keys/deploy"),
                                "-e", f"@{tmp_path / 'vars.yml'}", "-e", "ansible_port=2222"]
    assert transport({}, cli=cli)["options"] == cli_options(cli)


def test_without_command_line_options_none_are_added():
    assert cli_options({"remote_user": None, "private_key_file": None, "extra_vars": ()}) == []
    found = transport({"ansible_inventory_sources": [os.devnull], "ansible_config_file": "/etc/ansible.cfg"}, cli={})
    assert found["inventory"] == [os.devnull] and found["env"] == {"ANSIBLE_CONFIG": "/etc/ansible.cfg"}
    assert found["options"] == []
