"""A batch's initial priority: the log of its size, or what the submission asked for, within the range."""

import pytest

from include.merritt.priority import MAX_PRIORITY, MIN_PRIORITY, initial_priority


@pytest.mark.parametrize(("jobs", "priority"), [(1, 5), (2, 11), (10, 28), (100, 51), (10_000, 97), (10**6, 99)])
def test_initial_priority_grows_with_the_log_of_the_job_count(jobs, priority):
    assert initial_priority(jobs) == priority


def test_a_requested_priority_wins_and_is_bounded():
    assert (MIN_PRIORITY, MAX_PRIORITY) == (0, 99)
    assert initial_priority(10_000, requested=0) == 0
    with pytest.raises(ValueError, match="100"):
        initial_priority(1, requested=100)
    with pytest.raises(ValueError):
        initial_priority(0)
