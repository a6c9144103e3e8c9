"""Which day a run stands for, and the instants derived from it, in Eastern time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def run_day(logical_date: datetime) -> date:
    """The Eastern calendar day a run stands for."""
    return logical_date.astimezone(EASTERN).date()


def eastern_instant(day: date, at: str) -> datetime:
    """``HH:MM`` Eastern on ``day``, as an aware UTC datetime."""
    hours, minutes = (int(part) for part in at.split(":"))
    local = datetime.combine(day, time(hours, minutes), tzinfo=EASTERN)
    return local.astimezone(UTC)


def later_fire_instants(
    logical_date: datetime, now: datetime, *, at: str, weekdays: tuple[str, ...], limit_days: int = 120
) -> list[datetime]:
    """The schedule's fire instants after ``logical_date`` up to ``now`` (at most ``limit_days`` days)."""
    wanted = {name.upper()[:3] for name in weekdays}
    first = run_day(logical_date)
    instants = []
    for offset in range(1, limit_days + 1):
        day = first + timedelta(days=offset)
        instant = eastern_instant(day, at)
        if instant > now:
            break
        if WEEKDAYS[day.weekday()] in wanted:
            instants.append(instant)
    return instants
