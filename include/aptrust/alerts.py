"""Registry alerts of the daily ``aptrust_alerts`` DAG: failed fixity checks and stalled WorkItems.

Plain rules and text, no database (and only the standard library at import: the DAG file
reads ``DEFAULT_REGISTRY_URL``): which alerts a day's candidates make, who receives
them, what they say. An alert is the registry's record of what was told to whom; the
operators write it as the registry does and send it from there, one message per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

FAILED_FIXITY_CHECK = "Failed Fixity Check"
STALLED_WORK_ITEMS = "Stalled Work Items"
FIXITY_CHECK_EVENT = "fixity check"
FAILED_FIXITY_OUTCOMES = ("Failed", "Failure")  # "Failure": Pharos-era rows
STALLED_STATUSES = ("Pending", "Started")
STALLED_AFTER = timedelta(hours=12)  # Pharos's definition
APTRUST_INSTITUTION = "aptrust.org"
INSTITUTION_AUDIENCE = "institution"
APTRUST_AUDIENCE = "aptrust"
DEFAULT_REGISTRY_URL = "https://repo.aptrust.org"
MESSAGE_ID_DOMAIN = "registry.aptrust.org"

_SIGNATURE = """If you have questions, please contact us at help@aptrust.org.

The APTrust Team
https://aptrust.org
help@aptrust.org
"""


@dataclass(frozen=True)
class Candidate:
    """A failed fixity event or a stalled WorkItem, and whether each audience was already told."""

    id: int
    institution_id: int
    institution: str
    new_to_institution: bool
    new_to_aptrust: bool
    # WorkItems only: what the alert's line shows
    action: str | None = None
    stage: str | None = None
    status: str | None = None
    name: str | None = None
    queued_at: datetime | None = None


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str


@dataclass(frozen=True)
class PlannedAlert:
    """One alert to record: its row, its recipients (user ids) and what it is about (WorkItem or
    PREMIS event ids, by type). The subject is the type unless given."""

    type: str
    institution_id: int
    institution: str
    audience: str
    content: str
    user_ids: tuple[int, ...]
    linked_ids: tuple[int, ...]
    subject: str = ""
    deletion_request_id: int | None = None

    def __post_init__(self) -> None:
        if not self.subject:
            object.__setattr__(self, "subject", self.type)


@dataclass
class AlertPlan:
    alerts: list[PlannedAlert] = field(default_factory=list)
    # institutions whose alert is recorded without recipients (no active institutional admin)
    no_recipients: list[str] = field(default_factory=list)
    # why there is no APTrust summary although something was new to APTrust (None: no such reason)
    no_summary: str | None = None


def covered_day(instant: datetime) -> date:
    """The UTC day a run covers: the day before the one its instant falls on (UTC).

    The daily runs (07:00 Eastern, always after midnight UTC of the same date) therefore
    tile the days without gap or overlap, and a backfilled run covers its own day.
    """
    return instant.astimezone(UTC).date() - timedelta(days=1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, 24:00) UTC of ``day``."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def failed_fixity_url(registry_url: str, day: date, institution_id: int | None = None) -> str:
    """The registry's events page filtered to the day's failed fixity checks (all institutions if None)."""
    institution = "" if institution_id is None else f"&institution_id={institution_id}"
    return (
        f"{registry_url.rstrip('/')}/events?event_type=fixity+check&outcome=Failed{institution}"
        f"&date_time__gteq={day:%Y-%m-%d}&date_time__lteq={day + timedelta(days=1):%Y-%m-%d}"
    )


def failed_fixity_content(alert_url: str) -> str:
    """The registry's ``failed_fixity.txt`` (its only variable is the link)."""
    return (
        "Hello from APTrust,\n\n"
        "While checking the integrity of your files, one or more fixity checks failed. "
        "The link below has more information.\n\n"
        f"{alert_url}\n\n{_SIGNATURE}"
    )


def stalled_content(items: Sequence[Candidate], registry_url: str, *, with_institution: bool = False) -> str:
    """One paragraph per item: its id, action, stage, status, name, queued_at, and its registry page."""
    hours = int(STALLED_AFTER.total_seconds() // 3600)
    noun = "work item has" if len(items) == 1 else "work items have"
    lines = [
        "Hello from APTrust,",
        "",
        f"The following {len(items)} {noun} been queued for more than {hours} hours without completing:",
        "",
    ]
    for item in sorted(items, key=lambda item: item.id):
        queued = f"{item.queued_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if item.queued_at else "(not recorded)"
        where = f" ({item.institution})" if with_institution else ""
        lines.append(
            f"WorkItem {item.id}{where}: {item.action}, stage {item.stage}, status {item.status}, "
            f"name {item.name}, queued {queued}"
        )
        lines.append(f"  {registry_url.rstrip('/')}/work_items/show/{item.id}")
    return "\n".join(lines) + "\n\n" + _SIGNATURE


def plan_alerts(
    alert_type: str,
    candidates: Sequence[Candidate],
    *,
    admins: Mapping[int, Sequence[Recipient]],
    aptrust: tuple[int, Sequence[Recipient]] | None,
    content,
) -> AlertPlan:
    """The alerts ``candidates`` make: one per institution with something new to it, plus the
    APTrust summary of everything new to APTrust.

    ``content(items, institution_id)`` writes an alert's text (``institution_id`` None for the
    summary). ``aptrust`` is (the ``aptrust.org`` institution's id, its recipients), or None
    if the registry has no such institution. An institution without active admins still gets
    its alert, with no recipients. No summary is made without recipients. The items of
    ``aptrust.org`` itself are in the summary only: its institution alert would be the same
    institution's alert of the same type.
    """
    plan = AlertPlan()
    aptrust_id = aptrust[0] if aptrust else None
    by_institution: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.new_to_institution and candidate.institution_id != aptrust_id:
            by_institution.setdefault(candidate.institution_id, []).append(candidate)
    for institution_id, items in sorted(by_institution.items()):
        recipients = admins.get(institution_id, ())
        if not recipients:
            plan.no_recipients.append(items[0].institution)
        plan.alerts.append(
            PlannedAlert(
                type=alert_type,
                institution_id=institution_id,
                institution=items[0].institution,
                audience=INSTITUTION_AUDIENCE,
                content=content(items, institution_id),
                user_ids=tuple(sorted({recipient.user_id for recipient in recipients})),
                linked_ids=tuple(sorted(item.id for item in items)),
            )
        )
    new_to_aptrust = [candidate for candidate in candidates if candidate.new_to_aptrust]
    if new_to_aptrust:
        if aptrust is None:
            plan.no_summary = f"no institution {APTRUST_INSTITUTION} in the registry"
        elif not aptrust[1]:
            plan.no_summary = f"no active user of {APTRUST_INSTITUTION} to receive it"
        else:
            plan.alerts.append(
                PlannedAlert(
                    type=alert_type,
                    institution_id=aptrust[0],
                    institution=APTRUST_INSTITUTION,
                    audience=APTRUST_AUDIENCE,
                    content=content(new_to_aptrust, None),
                    user_ids=tuple(sorted({recipient.user_id for recipient in aptrust[1]})),
                    linked_ids=tuple(sorted(item.id for item in new_to_aptrust)),
                )
            )
    return plan


def alert_message_id(alert_id: int, user_id: int) -> str:
    """The one Message-ID of an alert's mail to one user: a resend after a crash repeats it."""
    return f"<aptrust-alert-{alert_id}-{user_id}@{MESSAGE_ID_DOMAIN}>"
