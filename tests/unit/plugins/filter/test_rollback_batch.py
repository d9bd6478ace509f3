import pytest
from ansible_collections.pakashop.infra.plugins.filter.rollback_batch import rollback_batch

CATALOG = {
    "gateway": {"port": 8080, "after": ["api"]},               # socket by default with a port
    "api": {"port": 8100, "instances": 2},
    "notifications": {"readiness": "notify"},                   # a worker: no port
    "legacy": {"port": 8400, "socket": False},                  # binds its port itself
    "legacy-pair": {"port": 8500, "instances": 2, "socket": False},
}


@pytest.mark.parametrize("services, batch", [
    (["api", "gateway", "notifications"], "100%"),
    (["notifications"], "100%"),
    (["api", "legacy"], 1),
    # a second instance without a socket only helps a caller that retries
    (["legacy-pair"], 1),
])
def test_every_host_at_once_only_where_each_host_keeps_answering_through_its_restarts(services, batch):
    assert rollback_batch(CATALOG, services) == batch
