"""The aspace2alma schedules: one weekday definition, its cron, its complement, its fire instants across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from include.aspace2alma.schedule import (
    CLEANUP_SCHEDULE,
    DEADLINE_SCHEDULE,
    EXPORT_SCHEDULE,
    WeekdaySchedule,
    fire_instants,
)
from include.common.eastern_time import EASTERN, EASTERN_TIMEZONE


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def fires(schedule: WeekdaySchedule, after: str, until: str) -> list[datetime]:
    return fire_instants(schedule.cron, EASTERN_TIMEZONE, after=utc(after), until=utc(until))


def test_each_schedule_is_one_cron_expression():
    assert EXPORT_SCHEDULE.cron == "30 5 * * 0,2,3,4,5"
    assert CLEANUP_SCHEDULE.cron == "30 5 * * 1,6"
    assert DEADLINE_SCHEDULE.cron == "30 10 * * 0,2,3,4,5"


def test_complement_keeps_the_time_and_takes_the_other_days():
    assert CLEANUP_SCHEDULE == WeekdaySchedule(at="05:30", weekdays=("MON", "SAT"))
    assert CLEANUP_SCHEDULE.complement() == EXPORT_SCHEDULE


def test_weekdays_are_read_in_any_case_and_order():
    assert WeekdaySchedule(at="05:30", weekdays=["fri", "Sun", "THU", "wed", "tue"]) == EXPORT_SCHEDULE


def test_the_deadline_check_runs_on_the_export_days():
    assert (DEADLINE_SCHEDULE.at, DEADLINE_SCHEDULE.weekdays) == ("10:30", EXPORT_SCHEDULE.weekdays)


@pytest.mark.parametrize(
    ("schedule", "after", "until", "expected"),
    [
        pytest.param(
            EXPORT_SCHEDULE,
            "2026-03-06T00:00Z",
            "2026-03-10T23:59Z",
            ["2026-03-06T10:30Z", "2026-03-08T09:30Z", "2026-03-10T09:30Z"],
            id="export-dst-starts-2026",
        ),
        pytest.param(
            CLEANUP_SCHEDULE,
            "2026-03-06T00:00Z",
            "2026-03-10T23:59Z",
            ["2026-03-07T10:30Z", "2026-03-09T09:30Z"],
            id="cleanup-dst-starts-2026",
        ),
        pytest.param(
            EXPORT_SCHEDULE,
            "2026-10-30T00:00Z",
            "2026-11-03T23:59Z",
            ["2026-10-30T09:30Z", "2026-11-01T10:30Z", "2026-11-03T10:30Z"],
            id="export-dst-ends-2026",
        ),
        pytest.param(
            CLEANUP_SCHEDULE,
            "2026-10-30T00:00Z",
            "2026-11-03T23:59Z",
            ["2026-10-31T09:30Z", "2026-11-02T10:30Z"],
            id="cleanup-dst-ends-2026",
        ),
        pytest.param(
            EXPORT_SCHEDULE,
            "2027-03-12T00:00Z",
            "2027-03-16T23:59Z",
            ["2027-03-12T10:30Z", "2027-03-14T09:30Z", "2027-03-16T09:30Z"],
            id="export-dst-starts-2027",
        ),
        pytest.param(
            CLEANUP_SCHEDULE,
            "2027-03-12T00:00Z",
            "2027-03-16T23:59Z",
            ["2027-03-13T10:30Z", "2027-03-15T09:30Z"],
            id="cleanup-dst-starts-2027",
        ),
    ],
)
def test_fires_stay_at_0530_local_across_dst_changes(schedule, after, until, expected):
    instants = fires(schedule, after, until)

    assert instants == [utc(text) for text in expected]
    assert {instant.astimezone(EASTERN).strftime("%H:%M") for instant in instants} == {"05:30"}


def test_the_export_and_cleanup_schedules_cover_every_local_day_exactly_once():
    after, until = "2025-12-31T23:59-05:00", "2027-12-31T23:59-05:00"
    local_days = [
        instant.astimezone(EASTERN).date()
        for schedule in (EXPORT_SCHEDULE, CLEANUP_SCHEDULE)
        for instant in fires(schedule, after, until)
    ]

    first, last = date(2026, 1, 1), date(2027, 12, 31)
    every_day = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert sorted(local_days) == every_day


@pytest.mark.parametrize(
    ("schedule", "expected_days"),
    [(EXPORT_SCHEDULE, {"Sun", "Tue", "Wed", "Thu", "Fri"}), (CLEANUP_SCHEDULE, {"Mon", "Sat"})],
    ids=["export", "cleanup"],
)
def test_fires_fall_only_on_the_listed_weekdays(schedule, expected_days):
    instants = fires(schedule, "2026-01-01T00:00Z", "2026-12-31T23:59Z")

    assert {instant.astimezone(EASTERN).strftime("%a") for instant in instants} == expected_days


def test_later_fires_skip_the_off_days_and_stop_at_until():
    tuesday = utc("2026-11-17T10:30Z")
    monday_noon = "2026-11-23T12:00Z"  # after Sunday's fire, before Tuesday's

    assert [instant.day for instant in fires(EXPORT_SCHEDULE, tuesday.isoformat(), monday_noon)] == [18, 19, 20, 22]
    assert fires(EXPORT_SCHEDULE, "2026-11-22T10:30Z", monday_noon) == []
    assert fires(EXPORT_SCHEDULE, "2026-11-19T10:30Z", "2026-11-20T10:30Z") == [utc("2026-11-20T10:30Z")]


def test_the_zone_may_be_given_as_a_tzinfo():
    assert fire_instants(
        EXPORT_SCHEDULE.cron, ZoneInfo(EASTERN_TIMEZONE), after=utc("2026-03-06T00:00Z"), until=utc("2026-03-10T23:59Z")
    ) == fires(EXPORT_SCHEDULE, "2026-03-06T00:00Z", "2026-03-10T23:59Z")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"weekdays": ("SUN", "FUNDAY")}, "unknown weekday", id="unknown-weekday"),
        pytest.param({"weekdays": ()}, "at least one day", id="no-weekdays"),
        pytest.param({"weekdays": "MON"}, "collection of day names", id="weekdays-as-string"),
        pytest.param({"at": "01:00"}, "daylight saving", id="dst-window-start"),
        pytest.param({"at": "02:30"}, "daylight saving", id="dst-gap"),
        pytest.param({"at": "02:59"}, "daylight saving", id="dst-window-end"),
        pytest.param({"at": "5:30"}, "'HH:MM'", id="unpadded-hour"),
        pytest.param({"at": "24:00"}, "'HH:MM'", id="hour-out-of-range"),
    ],
)
def test_invalid_arguments_are_refused_clearly(arguments, message):
    with pytest.raises((ValueError, TypeError), match=message):
        WeekdaySchedule(**{"at": "05:30", "weekdays": ("MON",), **arguments})


@pytest.mark.parametrize("at", ["00:59", "03:00"])
def test_times_just_outside_the_dst_window_are_accepted(at):
    assert WeekdaySchedule(at=at, weekdays=("MON",)).at == at


def test_every_day_has_no_complement():
    every_day = WeekdaySchedule(at="05:30", weekdays=("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"))

    with pytest.raises(ValueError, match="runs every day"):
        every_day.complement()


# The Eastern day and instants every aspace2alma task derives from its run's logical date.
