"""Which object an institution's monthly spot-test restore takes, decided reproducibly.

The database says which objects are eligible (see ``sql.SPOT_TEST_ELIGIBLE_AMONG``);
these rules say in which order candidates are tried and which one wins:
the institution's active objects are shuffled with a generator seeded from the run's
id and the institution, then checked in that order, in small batches, until an
eligible one under 20 GB turns up. The first eligible object of a uniformly random
permutation is a uniformly random eligible object, so this is as fair as
``ORDER BY random()`` over the eligible set while checking only a few dozen objects.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from include.aptrust.limits import MAX_FREQUENCY_DAYS
from include.common.eastern_time import eastern_day

PREFERRED_MAX_BYTES = 20 * 1024**3
RECENT_RESTORE_MONTHS = 6


class InvalidFrequency(ValueError):
    """An institution's ``spot_restore_frequency`` outside 1..MAX_FREQUENCY_DAYS."""


@dataclass(frozen=True)
class Candidate:
    object_id: int
    size: int


def spot_test_month(logical_date: datetime) -> date:
    """The month (its first day) a run stands for: the Eastern calendar month of its logical date."""
    return eastern_day(logical_date).replace(day=1)


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` moved back by calendar months, clamped to the end of shorter months."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - date(year, month, 1)).days
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def restored_since_cutoff(reference: datetime, frequency_days: int) -> datetime:
    """An object restored successfully after this instant is not due for a spot test.

    Six months back from the run's logical date, or the institution's spot-test
    frequency if that is longer. Raises InvalidFrequency for a frequency outside
    1..MAX_FREQUENCY_DAYS.
    """
    if isinstance(frequency_days, bool) or not isinstance(frequency_days, int):
        raise InvalidFrequency(f"spot_restore_frequency {frequency_days!r} is not a whole number of days")
    if not 1 <= frequency_days <= MAX_FREQUENCY_DAYS:
        raise InvalidFrequency(f"spot_restore_frequency {frequency_days} is outside 1..{MAX_FREQUENCY_DAYS} days")
    six_months = months_before(reference, RECENT_RESTORE_MONTHS)
    by_frequency = reference - timedelta(days=frequency_days)
    return min(six_months, by_frequency)


def candidate_order(object_ids: Iterable[int], seed: str) -> list[int]:
    """The institution's object ids in the run's reproducible random order."""
    ordered = sorted(object_ids)
    random.Random(seed).shuffle(ordered)
    return ordered


def selection_seed(run_id: str, institution_id: int) -> str:
    return f"{run_id}/institution/{institution_id}"


def batches(ids: Sequence[int], first: int = 32, most: int = 512) -> Iterator[list[int]]:
    """Slices of ``ids`` that double in size: most institutions are settled by the first."""
    start, size = 0, first
    while start < len(ids):
        yield list(ids[start : start + size])
        start += size
        size = min(size * 2, most)


def choose(ordered_ids: Sequence[int], eligible_in_batch) -> Candidate | None:
    """Walk ``ordered_ids`` in batches; ``eligible_in_batch(ids) -> {id: size}`` asks the database.

    Returns the first eligible object (in the given order) under 20 GB; if every
    eligible object is 20 GB or larger, the smallest of them (ties: lowest id);
    None if nothing is eligible.
    """
    oversized: list[Candidate] = []
    for batch in batches(ordered_ids):
        sizes = eligible_in_batch(batch)
        for object_id in batch:
            size = sizes.get(object_id)
            if size is None or size <= 0:
                continue
            if size < PREFERRED_MAX_BYTES:
                return Candidate(object_id, size)
            oversized.append(Candidate(object_id, size))
    return min(oversized, key=lambda candidate: (candidate.size, candidate.object_id), default=None)
