"""The progress line: when it is logged and what it says."""

from __future__ import annotations

import logging

from include.common.progress import ProgressLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_logs_at_most_every_interval_and_always_at_the_end(caplog):
    clock = Clock()
    progress = ProgressLog(logging.getLogger("t"), "resources", total=100, interval=10, clock=clock)
    with caplog.at_level(logging.INFO, logger="t"):
        clock.now = 5
        assert progress(10) is None
        clock.now = 10
        assert progress(20) == "resources: 20/100 (2.0/s, ETA 40s)"
        clock.now = 12
        assert progress(100) == "resources: 100/100 (8.3/s, ETA 0s)"
    assert [record.getMessage() for record in caplog.records] == [
        "resources: 20/100 (2.0/s, ETA 40s)",
        "resources: 100/100 (8.3/s, ETA 0s)",
    ]


def test_an_open_ended_count_has_no_eta():
    clock = Clock()
    progress = ProgressLog(logging.getLogger("t"), "queue CC stale items", interval=1, clock=clock)
    clock.now = 4
    assert progress(8) == "queue CC stale items: 8 (2.0/s)"


def test_the_total_may_be_given_per_call():
    clock = Clock()
    progress = ProgressLog(logging.getLogger("t"), "jobs", interval=60, clock=clock)
    clock.now = 2
    assert progress(4, total=4) == "jobs: 4/4 (2.0/s, ETA 0s)"
