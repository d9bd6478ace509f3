import pytest
from ansible_collections.pakashop.infra.plugins.filter.batch_stops import batch_stops


@pytest.mark.parametrize("batch, failed, max_fail, stops", [
    (["stg-1"], 0, 0, False),                     # the run goes on
    (["stg-1"], 1, 0, True),                      # any failure, max 0
    (["stg-1", "stg-2"], 1, 50, False),           # 50 % is not more than 50 %
    (["stg-1", "stg-2"], 1, 49, True),
    (["stg-1", "stg-2"], 2, 100, True),           # the whole batch failed
    (["stg-1", "stg-2", "stg-3"], 1, 40, False),  # 33 % of 3
    ([], 0, 0, False),
])
def test_a_batch_stops_the_run_when_it_failed_more_than_allowed_or_whole(batch, failed, max_fail, stops):
    assert batch_stops(batch, failed, max_fail) is stops
