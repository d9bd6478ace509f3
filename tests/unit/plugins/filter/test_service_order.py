import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pakashop.infra.plugins.filter.service_order import service_order


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
