from __future__ import annotations

from datetime import UTC, date, datetime

from include.aspace2alma.calendar import eastern_instant, later_fire_instants, run_day

RUN_DAYS = ("SUN", "TUE", "WED", "THU", "FRI")


def test_run_day_is_the_eastern_day():
    assert run_day(datetime(2026, 11, 24, 3, 0, tzinfo=UTC)) == date(2026, 11, 23)


def test_eastern_instant_follows_dst():
    assert eastern_instant(date(2026, 7, 1), "03:00") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert eastern_instant(date(2026, 12, 1), "03:00") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_later_fire_instants_skip_the_off_days_and_stop_at_now():
    tuesday = datetime(2026, 11, 17, 10, 30, tzinfo=UTC)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # Monday
    assert [d.day for d in later_fire_instants(tuesday, now, at="05:30", weekdays=RUN_DAYS)] == [18, 19, 20, 22]
    assert later_fire_instants(datetime(2026, 11, 22, 10, 30, tzinfo=UTC), now, at="05:30", weekdays=RUN_DAYS) == []
