"""Progress of a long loop in the task log: done/total, rate and ETA, at most every few seconds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class ProgressLog:
    """Call with the count done so far; logs ``<what>: done/total (rate/s, ETA s)`` when
    ``interval`` seconds passed since the last line, and always when ``done`` reaches ``total``.
    With no ``total`` (an open-ended scan) it logs ``<what>: done (rate/s)``.
    """

    def __init__(
        self,
        log: logging.Logger | logging.LoggerAdapter,
        what: str,
        *,
        total: int | None = None,
        interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.what = what
        self.total = total
        self.interval = interval
        self._clock = clock
        self._started = self._last = clock()

    def __call__(self, done: int, *, total: int | None = None) -> str | None:
        """Log (and return) the progress line when it is due, else return None."""
        total = self.total if total is None else total
        now = self._clock()
        finished = total is not None and done >= total
        if not finished and now - self._last < self.interval:
            return None
        self._last = now
        rate = done / max(now - self._started, 1e-9)
        if total is None:
            line = f"{self.what}: {done} ({rate:.1f}/s)"
        else:
            eta = (total - done) / rate if rate else float("inf")
            line = f"{self.what}: {done}/{total} ({rate:.1f}/s, ETA {eta:.0f}s)"
        self.log.info("%s", line)
        return line
