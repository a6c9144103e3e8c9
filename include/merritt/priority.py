"""A batch's initial job priority: 00 is most urgent, big batches yield to small ones."""

from __future__ import annotations

import math

DEFAULT_PRIORITY = 5
MIN_PRIORITY, MAX_PRIORITY = 0, 99


def initial_priority(job_count: int, requested: int | None = None) -> int:
    """``floor(ln(job count) * 10 + 5)`` clamped to 0..99, unless the submission set one."""
    if requested is not None:
        if not MIN_PRIORITY <= requested <= MAX_PRIORITY:
            raise ValueError(f"priority {requested} is outside {MIN_PRIORITY}..{MAX_PRIORITY}")
        return requested
    if job_count < 1:
        raise ValueError(f"a batch needs at least one job, not {job_count}")
    return max(MIN_PRIORITY, min(MAX_PRIORITY, math.floor(math.log(job_count) * 10 + DEFAULT_PRIORITY)))
