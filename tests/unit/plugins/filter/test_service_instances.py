from ansible_collections.pakashop.infra.plugins.filter.service_instances import service_instances

CATALOG = {"gateway": {"port": 8080}, "api": {"port": 8100, "instances": 2, "health_path": "/up"}}


def test_each_instance_gets_the_next_port():
    assert service_instances(CATALOG, ["api", "gateway"]) == [
        {"service": "api", "unit": "pakashop-api@1", "port": 8100, "health_path": "/up"},
        {"service": "api", "unit": "pakashop-api@2", "port": 8101, "health_path": "/up"},
        {"service": "gateway", "unit": "pakashop-gateway@1", "port": 8080, "health_path": "/healthz"},
    ]


def test_services_the_catalog_lacks_are_left_out():
    assert [i["unit"] for i in service_instances(CATALOG, ["search", "gateway"])] == ["pakashop-gateway@1"]
