"""A release is named by its content: the code's digest and every file of its configuration."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pakashop.infra.plugins.filter.release_config import release_config
from ansible_collections.pakashop.infra.plugins.module_utils._catalog import entry

SOURCE = {"commit": "3f4a2761c0ffee0ddba11c0de5ca1ab1e5eed5ed", "label": "20261126T104500Z-3f4a276",
          "digest": "ab" * 32, "artifact": "/cache/api-0123.tar.gz"}
RENDERED = {"env": 'DB_PASSWORD="hunter2"\n', "service": "[Service]\nExecStart=/usr/bin/python3 api/main.py\n",
            "target": "[Unit]\n", "socket": "[Socket]\n"}


def spec(**given):
    return entry({"api": {"port": 8100, "instances": 2, "exec_start": "/bin/x", "source_path": "api", **given}}, "api")


def test_the_release_carries_its_env_units_and_each_instances_drop_ins():
    found = release_config(RENDERED, "api", spec(), SOURCE)
    assert sorted(found["config"]) == ["env", "units/pakashop-api.target", "units/pakashop-api@.service",
                                       "units/pakashop-api@.socket", "units/pakashop-api@1.service.d/port.conf",
                                       "units/pakashop-api@1.socket.d/port.conf",
                                       "units/pakashop-api@2.service.d/port.conf",
                                       "units/pakashop-api@2.socket.d/port.conf"]
    assert "ListenStream=0.0.0.0:8101" in found["config"]["units/pakashop-api@2.socket.d/port.conf"]
    assert (found["commit"], found["artifact"]) == (SOURCE["commit"], SOURCE["artifact"])
    assert found["release"].startswith(SOURCE["label"] + "-") and len(found["release"]) == len(SOURCE["label"]) + 9


def test_a_service_that_binds_its_port_itself_has_no_socket_unit():
    found = release_config(RENDERED, "api", spec(socket=False), SOURCE)
    assert not [name for name in found["config"] if "socket" in name]


@pytest.mark.parametrize("change", [
    {"rendered": {**RENDERED, "env": 'DB_PASSWORD="hunter3"\n'}},
    {"rendered": {**RENDERED, "service": RENDERED["service"] + "LimitNOFILE=4096\n"}},
    {"spec": spec(instances=3)},
    {"spec": spec(install_command="npm ci")},
    {"source": {**SOURCE, "digest": "cd" * 32}},
])
def test_any_change_of_code_or_configuration_is_a_new_release(change):
    base = release_config(RENDERED, "api", spec(), SOURCE)["release"]
    other = release_config(change.get("rendered", RENDERED), "api", change.get("spec", spec()),
                           change.get("source", SOURCE))["release"]
    assert other != base


def test_the_same_content_is_the_same_release_on_every_host():
    assert release_config(dict(RENDERED), "api", spec(), dict(SOURCE)) == release_config(RENDERED, "api", spec(), SOURCE)


def test_the_id_and_the_checksums_hold_no_plain_hash_of_the_env_file():
    import hashlib
    found = release_config(RENDERED, "api", spec(), SOURCE)
    plain = hashlib.sha256(RENDERED["env"].encode()).hexdigest()
    assert plain[:8] not in found["release"]


def test_a_source_without_its_digest_is_refused_naming_it():
    with pytest.raises(AnsibleFilterError, match="the source of api's release lacks digest"):
        release_config(RENDERED, "api", spec(), {**SOURCE, "digest": ""})
