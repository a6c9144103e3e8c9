"""A bounded, order-preserving parallel map.

``ThreadPoolExecutor.map`` submits every item up front (Python 3.11 has no
``buffersize``), so its memory grows with the input; this keeps at most
``window`` results in flight and yields them in input order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_ordered_map(
    function: Callable[[T], R], items: Iterable[T], *, concurrency: int, window: int | None = None
) -> Iterator[R]:
    """``function(item)`` for each item on ``concurrency`` threads, results in input order.

    At most ``window`` (default ``2 * concurrency``) calls are submitted and not yet
    consumed. An exception from a call is raised when its result is reached; the
    calls still queued are cancelled.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    window = max(window or 2 * concurrency, concurrency)
    pending: deque[Future[R]] = deque()
    source = iter(items)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="aspace") as pool:
        try:
            for item in source:
                pending.append(pool.submit(function, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
