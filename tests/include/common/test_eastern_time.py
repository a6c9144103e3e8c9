"""Eastern time: the day a run stands for and instants on that day, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime

from include.common.eastern_time import eastern_day, eastern_instant


def test_a_runs_day_is_its_eastern_day():
    assert eastern_day(datetime(2026, 11, 24, 3, 0, tzinfo=UTC)) == date(2026, 11, 23)


def test_eastern_instants_follow_dst():
    assert eastern_instant(date(2026, 7, 1), "03:00") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert eastern_instant(date(2026, 12, 1), "03:00") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
