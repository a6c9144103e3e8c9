from __future__ import annotations

import threading
import time

import pytest

from include.aspace2alma.ordered import bounded_ordered_map


def test_results_come_in_input_order_with_bounded_concurrency():
    running, peak, lock = 0, 0, threading.Lock()

    def slow_square(n):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.001 * (n % 5))
        with lock:
            running -= 1
        return n * n

    assert list(bounded_ordered_map(slow_square, range(200), concurrency=4)) == [n * n for n in range(200)]
    assert peak <= 4


def test_never_runs_ahead_of_the_window():
    submitted = []

    def source():
        for n in range(1000):
            submitted.append(n)
            yield n

    results = bounded_ordered_map(lambda n: n, source(), concurrency=2, window=8)
    assert next(results) == 0
    assert len(submitted) <= 9
    results.close()


def test_an_error_surfaces_at_its_position():
    def explode_at_3(n):
        if n == 3:
            raise ValueError("three")
        return n

    results = bounded_ordered_map(explode_at_3, range(10), concurrency=3)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="three"):
        next(results)
