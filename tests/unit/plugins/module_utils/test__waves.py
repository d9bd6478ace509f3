import pytest

from ansible_collections.pakashop.infra.plugins.module_utils._waves import levels


def test_services_that_wait_for_none_in_the_call_restart_together():
    assert levels([("api", []), ("moderation", []), ("gateway", ["api"])]) == [["api", "moderation"], ["gateway"]]


def test_a_service_waits_only_for_the_services_of_the_call():
    assert levels([("gateway", ["api"]), ("notifications", [])]) == [["gateway", "notifications"]]


def test_a_chain_makes_one_level_per_link():
    assert levels([("c", ["b"]), ("b", ["a"]), ("a", [])]) == [["a"], ["b"], ["c"]]


def test_a_cycle_is_named():
    with pytest.raises(ValueError, match="a -> b -> a"):
        levels([("a", ["b"]), ("b", ["a"])])
