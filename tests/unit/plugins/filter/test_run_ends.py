import pytest
from ansible_collections.pakashop.infra.plugins.filter.run_ends import run_ends

HOSTS = ["stg-1", "stg-2", "stg-3", "stg-4"]


@pytest.mark.parametrize("batch, failed, max_fail, ends", [
    (["stg-1"], 0, 0, False),                     # the run goes on
    (["stg-4"], 0, 0, True),                      # the last host's batch
    (["stg-1"], 1, 0, True),                      # any failure, max 0
    (["stg-1", "stg-2"], 1, 50, False),           # 50 % is not more than 50 %
    (["stg-1", "stg-2"], 1, 49, True),
    (["stg-1", "stg-2"], 2, 100, True),           # the whole batch failed
    (["stg-1", "stg-2", "stg-3"], 1, 40, False),  # 33 % of 3
    ([], 0, 0, True),
])
def test_a_run_ends_after_the_last_batch_or_one_that_failed_too_much(batch, failed, max_fail, ends):
    assert run_ends(HOSTS, batch, failed, max_fail) is ends
