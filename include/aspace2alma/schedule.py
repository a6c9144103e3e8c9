"""When the aspace2alma DAGs run: one weekday definition, written out as cron for Airflow.

Every schedule is a wall-clock time on a set of weekdays, in Eastern time
(``include.common.eastern_time``). The export runs on ``EXPORT_SCHEDULE``; the skip-day
cleanup on its complement, derived rather than written twice; the deadline check at
10:30 on the export days. A cron time is local wall-clock time, so runs stay at 05:30
across DST changes; times between 01:00 and 03:00, which a DST change skips or repeats,
are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from croniter import croniter

# Cron's day-of-week numbers, in calendar order (Sunday first).
CRON_WEEKDAYS = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_TIME_OF_DAY = re.compile(r"(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)")
_DST_CHANGES_FROM = time(1, 0)
_DST_CHANGES_UNTIL = time(3, 0)


@dataclass(frozen=True)
class WeekdaySchedule:
    """``at`` (``"HH:MM"``, Eastern) on each of ``weekdays`` (three-letter names, any case, any order)."""

    at: str
    weekdays: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_time_of_day(self.at)
        object.__setattr__(self, "weekdays", _calendar_ordered(self.weekdays))

    @property
    def cron(self) -> str:
        """The cron expression, e.g. ``"30 5 * * 0,2,3,4,5"``."""
        hour, minute = self.at.split(":")
        days = ",".join(str(CRON_WEEKDAYS[day]) for day in self.weekdays)
        return f"{int(minute)} {int(hour)} * * {days}"

    def complement(self) -> WeekdaySchedule:
        """The same time on every other weekday."""
        other_days = tuple(day for day in CRON_WEEKDAYS if day not in self.weekdays)
        if not other_days:
            raise ValueError(f"{self} runs every day, so its complement would never run")
        return WeekdaySchedule(at=self.at, weekdays=other_days)


def fire_instants(cron: str, timezone: str | tzinfo, *, after: datetime, until: datetime) -> list[datetime]:
    """The fire instants of ``cron`` in ``timezone`` after ``after`` and up to ``until``, as aware UTC datetimes.

    Computed as Airflow's ``CronTriggerTimetable`` does: croniter steps through local
    wall-clock time, and each time is then placed in the zone.
    """
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    local_times = croniter(cron, start_time=datetime.fromtimestamp(after.timestamp(), zone).replace(tzinfo=None))
    instants = []
    while (instant := local_times.get_next(datetime).replace(tzinfo=zone).astimezone(UTC)) <= until:
        instants.append(instant)
    return instants


def _check_time_of_day(at: str) -> None:
    match = _TIME_OF_DAY.fullmatch(at) if isinstance(at, str) else None
    if match is None:
        raise ValueError(f"at must be a 24-hour 'HH:MM' string such as '05:30', got {at!r}")
    if _DST_CHANGES_FROM <= time(int(match["hour"]), int(match["minute"])) < _DST_CHANGES_UNTIL:
        raise ValueError(
            f"at={at!r} is refused: daylight saving changes happen between 01:00 and 03:00, "
            "when a local time can be skipped or occur twice"
        )


def _calendar_ordered(weekdays: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(weekdays, str):
        raise TypeError(f"weekdays must be a collection of day names such as ('MON',), got {weekdays!r}")
    requested = {str(day).upper() for day in weekdays}
    if not requested:
        raise ValueError("weekdays must name at least one day")
    if unknown := requested - CRON_WEEKDAYS.keys():
        raise ValueError(f"unknown weekday(s) {sorted(unknown)}; use three-letter names: {', '.join(CRON_WEEKDAYS)}")
    return tuple(day for day in CRON_WEEKDAYS if day in requested)


EXPORT_SCHEDULE = WeekdaySchedule(at="05:30", weekdays=("SUN", "TUE", "WED", "THU", "FRI"))
CLEANUP_SCHEDULE = EXPORT_SCHEDULE.complement()
DEADLINE_SCHEDULE = WeekdaySchedule(at="10:30", weekdays=EXPORT_SCHEDULE.weekdays)
