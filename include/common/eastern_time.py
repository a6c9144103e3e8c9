"""Eastern time: the zone of every schedule, cutoff and "day" in this repository."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

EASTERN_TIMEZONE = "America/New_York"
EASTERN = ZoneInfo(EASTERN_TIMEZONE)


def eastern_now() -> datetime:
    """The current instant, as an aware datetime in Eastern time."""
    return datetime.now(EASTERN)


def eastern_day(instant: datetime) -> date:
    """The Eastern calendar day of an aware instant (e.g. the day a run stands for)."""
    return instant.astimezone(EASTERN).date()


def eastern_instant(day: date, at: str) -> datetime:
    """``HH:MM`` Eastern on ``day``, as an aware UTC datetime."""
    hours, minutes = (int(part) for part in at.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=EASTERN).astimezone(UTC)
