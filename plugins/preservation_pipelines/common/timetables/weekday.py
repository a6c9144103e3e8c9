"""Timetables that fire at one local wall-clock time on a fixed set of weekdays.

A run fires at ``at`` local time on each listed weekday. Its ``run_after`` and
logical date are that fire instant (in UTC), and its data interval runs from
the previous fire instant of the same timetable up to this one.

Fire instants are computed from the local calendar date, so they stay at the
same wall-clock time when daylight saving time starts or ends.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

if TYPE_CHECKING:
    from airflow.models.dag import DagModel
    from airflow.timetables.base import TimeRestriction
    from pendulum import DateTime

# In US-style calendar order (Sunday first); values are ``date.weekday()`` numbers.
_WEEKDAY_NUMBERS = {"SUN": 6, "MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5}
_TIME_OF_DAY = re.compile(r"(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)")
_DST_CHANGES_FROM = datetime.time(1, 0)
_DST_CHANGES_UNTIL = datetime.time(3, 0)
_ONE_DAY = datetime.timedelta(days=1)


class _FireTimeRunInfo(DagRunInfo):
    """Run info whose logical date is the fire instant, not the data interval start."""

    __slots__ = ()

    @property
    def logical_date(self) -> DateTime:
        return self.run_after


class WeekdayTimetable(Timetable):
    """
    Fire at ``at`` (``"HH:MM"``, local time in ``timezone``) on each of ``weekdays``.

    :param at: local wall-clock time of each run, e.g. ``"05:30"``.
    :param weekdays: three-letter day names, e.g. ``("SUN", "TUE")``; case-insensitive.
    :param timezone: IANA time zone name, e.g. ``"America/New_York"``.
    """

    def __init__(self, *, at: str, weekdays: Iterable[str], timezone: str) -> None:
        self._time = _parse_time_of_day(at)
        self._weekdays = _parse_weekdays(weekdays)
        self._weekday_numbers = frozenset(_WEEKDAY_NUMBERS[day] for day in self._weekdays)
        self._timezone = _parse_timezone(timezone)

    @property
    def at(self) -> str:
        return self._time.strftime("%H:%M")

    @property
    def weekdays(self) -> tuple[str, ...]:
        return self._weekdays

    @property
    def timezone(self) -> str:
        return self._timezone.name

    def complement(self) -> WeekdayTimetable:
        """Return the timetable firing at the same time and zone on every other weekday."""
        other_days = [day for day in _WEEKDAY_NUMBERS if day not in self._weekdays]
        if not other_days:
            raise ValueError(f"{self.description!r} runs every day, so its complement would never run")
        return WeekdayTimetable(at=self.at, weekdays=other_days, timezone=self.timezone)

    @property
    def description(self) -> str:
        days = ", ".join(day.title() for day in self._weekdays)
        return f"{self.at} {self.timezone} on {days}"

    @property
    def summary(self) -> str:
        return self.description

    def serialize(self) -> dict[str, Any]:
        return {"at": self.at, "weekdays": list(self._weekdays), "timezone": self.timezone}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> WeekdayTimetable:
        return cls(at=data["at"], weekdays=data["weekdays"], timezone=data["timezone"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WeekdayTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.at, self._weekdays, self.timezone))

    def __repr__(self) -> str:
        return f"WeekdayTimetable(at={self.at!r}, weekdays={self._weekdays!r}, timezone={self.timezone!r})"

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        return DataInterval(start=self._fire_before(run_after), end=run_after)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        candidates = []
        if restriction.earliest is not None:
            candidates.append(self._fire_at_or_after(restriction.earliest))
        if last_automated_data_interval is not None:
            candidates.append(self._fire_after(last_automated_data_interval.end))
        if not restriction.catchup or not candidates:
            candidates.append(self._fire_at_or_before(pendulum.now(pendulum.UTC)))
        fire = max(candidates)
        if restriction.latest is not None and fire > restriction.latest:
            return None
        return _FireTimeRunInfo.interval(start=self._fire_before(fire), end=fire)

    def next_run_info_from_dag_model(self, *, dag_model: DagModel) -> DagRunInfo | None:
        # The scheduler rebuilds a plain DagRunInfo from the DAG model before creating the
        # run; rewrap it so the run's logical date stays the fire instant.
        info = super().next_run_info_from_dag_model(dag_model=dag_model)
        return None if info is None else _FireTimeRunInfo(*info)

    def _fire_on(self, day: datetime.date) -> DateTime:
        local = pendulum.datetime(day.year, day.month, day.day, self._time.hour, self._time.minute, tz=self._timezone)
        return local.in_timezone(pendulum.UTC)

    def _fires_from(self, instant: datetime.datetime, step: datetime.timedelta) -> Iterator[DateTime]:
        """Yield fire instants day by day, starting on the local date of ``instant``."""
        day = pendulum.instance(instant).in_timezone(self._timezone).date()
        while True:
            if day.weekday() in self._weekday_numbers:
                yield self._fire_on(day)
            day += step

    def _fire_after(self, instant: datetime.datetime) -> DateTime:
        return next(fire for fire in self._fires_from(instant, _ONE_DAY) if fire > instant)

    def _fire_at_or_after(self, instant: datetime.datetime) -> DateTime:
        return next(fire for fire in self._fires_from(instant, _ONE_DAY) if fire >= instant)

    def _fire_before(self, instant: datetime.datetime) -> DateTime:
        return next(fire for fire in self._fires_from(instant, -_ONE_DAY) if fire < instant)

    def _fire_at_or_before(self, instant: datetime.datetime) -> DateTime:
        return next(fire for fire in self._fires_from(instant, -_ONE_DAY) if fire <= instant)


def _parse_time_of_day(at: str) -> datetime.time:
    match = _TIME_OF_DAY.fullmatch(at) if isinstance(at, str) else None
    if match is None:
        raise ValueError(f"at must be a 24-hour 'HH:MM' string such as '05:30', got {at!r}")
    time = datetime.time(int(match["hour"]), int(match["minute"]))
    if _DST_CHANGES_FROM <= time < _DST_CHANGES_UNTIL:
        raise ValueError(
            f"at={at!r} is refused: daylight saving changes happen between 01:00 and 03:00, "
            "when a local time can be skipped or occur twice"
        )
    return time


def _parse_weekdays(weekdays: Iterable[str]) -> tuple[str, ...]:
    if isinstance(weekdays, str):
        raise TypeError(f"weekdays must be a collection of day names such as ('MON',), got {weekdays!r}")
    requested = {str(day).upper() for day in weekdays}
    if not requested:
        raise ValueError("weekdays must name at least one day")
    if unknown := requested - _WEEKDAY_NUMBERS.keys():
        raise ValueError(f"unknown weekday(s) {sorted(unknown)}; use three-letter names: {', '.join(_WEEKDAY_NUMBERS)}")
    return tuple(day for day in _WEEKDAY_NUMBERS if day in requested)


def _parse_timezone(name: str) -> pendulum.Timezone:
    error = f"timezone must be an IANA time zone name such as 'America/New_York', got {name!r}"
    if not isinstance(name, str):
        raise TypeError(error)
    try:
        return pendulum.timezone(name)
    except ValueError as err:
        raise ValueError(error) from err
