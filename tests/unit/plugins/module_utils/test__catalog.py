"""The catalog model: each entry's defaults, its instances and their ports."""

import pytest

from ansible_collections.pakashop.infra.plugins.module_utils._catalog import KEYS, entry, instance_port, instances

CATALOG = {
    "api": {"port": 8100, "instances": 2, "exec_start": "/usr/bin/python3 api/main.py", "source_path": "api"},
    "notifications": {"readiness": "notify", "exec_start": "/usr/bin/python3 notifications/main.py",
                      "source_path": "notifications"},
    "mailer": {"readiness": "command", "readiness_command": "/usr/local/bin/mailer-ready",
               "exec_start": "/usr/bin/mailer", "source_path": "mailer"},
}


def test_an_http_service_is_asked_for_its_health_on_a_socket_systemd_holds():
    api = entry(CATALOG, "api")
    assert {k: api[k] for k in ("readiness", "readiness_command", "health_path", "identity_field",
                                "version_field", "socket")} == {
        "readiness": "http", "readiness_command": None, "health_path": "/healthz", "identity_field": "service",
        "version_field": "version", "socket": True}


@pytest.mark.parametrize("service", ["notifications", "mailer"])
def test_a_worker_has_no_port_no_socket_and_no_health_path(service):
    worker = entry(CATALOG, service)
    assert (worker["port"], worker["socket"], worker["health_path"]) == (None, False, None)
    assert worker["readiness"] == CATALOG[service]["readiness"]


def test_a_notify_service_names_itself_and_its_version_in_the_same_keys():
    assert {k: entry(CATALOG, "notifications")[k] for k in ("identity_field", "version_field")} == {
        "identity_field": "service", "version_field": "version"}


def test_socket_follows_the_port_unless_given():
    assert entry({"a": {"port": 9000, "socket": False}}, "a")["socket"] is False
    assert entry({"a": {"readiness": "notify", "port": 9000}}, "a")["socket"] is True
    assert entry({"a": {"readiness": "notify", "port": None}}, "a")["socket"] is False


def test_a_given_null_is_the_default():
    assert entry({"a": {"port": 9000, "readiness": None, "health_path": None}}, "a")["health_path"] == "/healthz"


def test_every_key_of_the_entry_is_a_catalog_key():
    assert set(entry(CATALOG, "mailer")) == set(KEYS)
    assert {"port", "readiness", "readiness_command"} <= set(KEYS)


def test_instances_of_a_worker_have_no_port():
    assert instances(CATALOG, "api") == [
        {"service": "api", "index": i, "port": 8099 + i, "unit": f"pakashop-api@{i}", "health_path": "/healthz"}
        for i in (1, 2)]
    assert [(i["unit"], i["port"]) for i in instances(CATALOG, "notifications")] == [("pakashop-notifications@1", None)]
    assert instance_port(None, 3) is None and instance_port("8100", 3) == 8102
