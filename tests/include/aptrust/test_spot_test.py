"""Spot-test selection rules, without a database: order, preference, fairness, cutoffs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from include.aptrust.limits import MAX_FREQUENCY_DAYS
from include.aptrust.spot_test import (
    PREFERRED_MAX_BYTES,
    Candidate,
    InvalidFrequency,
    batches,
    candidate_order,
    choose,
    restored_since_cutoff,
    selection_seed,
    spot_test_month,
)
from include.aptrust.work_items import GLACIER_STORAGE_OPTIONS, object_restore_action

GB = 1024**3


def test_the_order_is_reproducible_for_a_run_and_differs_between_runs():
    ids = range(1, 1001)
    first = candidate_order(ids, selection_seed("scheduled__2026-12-01", 7))
    assert first == candidate_order(reversed(ids), selection_seed("scheduled__2026-12-01", 7))
    assert first != candidate_order(ids, selection_seed("scheduled__2027-01-01", 7))
    assert first != candidate_order(ids, selection_seed("scheduled__2026-12-01", 8))
    assert sorted(first) == list(ids)


def test_batches_grow_and_cover_every_id_once():
    ids = list(range(2000))
    sizes = [len(batch) for batch in batches(ids)]
    assert sizes[:4] == [32, 64, 128, 256]
    assert max(sizes) == 512
    assert [i for batch in batches(ids) for i in batch] == ids


def test_takes_the_first_eligible_object_under_20_gb_in_order():
    sizes = {5: 30 * GB, 9: 0, 3: 2 * GB, 4: 1 * GB}
    asked = []

    def eligible(batch):
        asked.append(batch)
        return {i: sizes[i] for i in batch if i in sizes}

    assert choose([7, 5, 9, 3, 4], eligible) == Candidate(3, 2 * GB)
    assert asked == [[7, 5, 9, 3, 4]]


def test_only_large_objects_gives_the_smallest_and_nothing_eligible_gives_none():
    sizes = {1: 40 * GB, 2: PREFERRED_MAX_BYTES, 3: 25 * GB}
    assert choose([1, 2, 3], lambda batch: {i: sizes[i] for i in batch}) == Candidate(2, PREFERRED_MAX_BYTES)
    assert choose([1, 2, 3], lambda batch: {}) is None
    assert choose([], lambda batch: {1: 1}) is None


def test_the_choice_is_uniform_among_eligible_objects():
    eligible_ids = {10, 200, 201, 202, 999}  # clustered ids must not be favoured
    wins = Counter(
        choose(
            candidate_order(range(1, 1001), f"run-{n}"), lambda batch: {i: GB for i in batch if i in eligible_ids}
        ).object_id
        for n in range(2000)
    )
    assert set(wins) == eligible_ids
    assert min(wins.values()) > 300  # 400 expected each


def test_month_is_the_eastern_month_of_the_logical_date():
    assert spot_test_month(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) == date(2026, 11, 1)  # 22:00 EST Nov 30
    assert spot_test_month(datetime(2026, 12, 1, 14, 0, tzinfo=UTC)) == date(2026, 12, 1)


def test_recent_restore_cutoff_is_six_months_or_the_frequency_if_longer():
    run = datetime(2026, 8, 31, 14, 0, tzinfo=UTC)
    assert restored_since_cutoff(run, 30) == datetime(2026, 2, 28, 14, 0, tzinfo=UTC)
    assert restored_since_cutoff(run, 365) == datetime(2025, 8, 31, 14, 0, tzinfo=UTC)


def test_a_frequency_out_of_bounds_is_the_modules_own_error_not_an_overflow():
    run = datetime(2026, 8, 31, 14, 0, tzinfo=UTC)
    assert restored_since_cutoff(run, MAX_FREQUENCY_DAYS) < restored_since_cutoff(run, 365)
    for frequency in (0, -1, MAX_FREQUENCY_DAYS + 1, 2**31 - 1, 10**20, 30.5, True, None, "30"):
        with pytest.raises(InvalidFrequency, match="spot_restore_frequency"):
            restored_since_cutoff(run, frequency)


def test_glacier_options_need_glacier_restore_and_nothing_else_does():
    assert len(GLACIER_STORAGE_OPTIONS) == 6
    for option in GLACIER_STORAGE_OPTIONS:
        assert object_restore_action(option) == "Glacier Restore"
    for option in ("Standard", "Wasabi-OR", "Wasabi-TX", "Wasabi-VA"):
        assert object_restore_action(option) == "Restore Object"
