"""The DAGs' own mails as registry alerts: restore digests and the bulk deletion's request,
confirmation and cancellation.

Plain data, no database: which alert each mail is, for whom (registry user ids) and what
it says. The operators record an alert with its recipients and links in one transaction
and send it from there, one message per recipient (``include.aptrust.alerts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from include.aptrust.alerts import INSTITUTION_AUDIENCE, PlannedAlert, Recipient
from include.aptrust.inputs import shown
from include.aptrust.work_items import SYSTEM_USER

RESTORATION_COMPLETED = "Restoration Completed"
SPOT_TEST_COMPLETED_SUBJECT = "Restoration Spot Test Completed"
DELETION_REQUESTED = "Deletion Requested"
DELETION_CONFIRMED = "Deletion Confirmed"
DELETION_CANCELLED = "Deletion Cancelled"
RESTORED_TO = " restored to "


@dataclass(frozen=True)
class RestoredItem:
    work_item_id: int
    institution_id: int
    institution: str
    institution_name: str
    requester: str | None
    action: str
    object_identifier: str | None
    file_identifier: str | None
    note: str | None
    date_processed: datetime | None
    spot_test: bool


@dataclass
class DigestPlan:
    alerts: list[PlannedAlert] = field(default_factory=list)
    # requesters with no active registry user: nobody to send to (the registry sends nothing either)
    requesters_without_user: list[str] = field(default_factory=list)


def requester_key(requester: str | None) -> str | None:
    """How a WorkItem's ``user`` is matched to a registry user's email: case-insensitively, trimmed."""
    return requester.strip().lower() if requester and requester.strip() else None


def restore_location(note: str | None) -> str | None:
    """Where a restored item can be fetched: what follows `` restored to `` in the note."""
    if not note or RESTORED_TO not in note:
        return None
    location = note.rsplit(RESTORED_TO, 1)[1].strip().rstrip(".")
    return location or None


def recipient_ids(people: Iterable[Recipient | None], excluding: Iterable[int] = ()) -> tuple[int, ...]:
    """Unique user ids, sorted; the system account (nobody's inbox) and ``excluding`` left out."""
    unwanted = set(excluding)
    return tuple(
        sorted(
            {
                person.user_id
                for person in people
                if person is not None and person.user_id not in unwanted and person.email.lower() != SYSTEM_USER
            }
        )
    )


def restore_digests(
    items: Sequence[RestoredItem],
    admins: Mapping[int, Sequence[Recipient]],
    requesters: Mapping[str, Recipient],
) -> DigestPlan:
    """One ``Restoration Completed`` alert per institution linking every item, grouped by requester.

    Recipients: the requesters that are active registry users (``requesters`` by
    ``requester_key``) plus the institution's active institutional admins.
    """
    plan = DigestPlan()
    by_institution: dict[int, list[RestoredItem]] = {}
    for item in items:
        by_institution.setdefault(item.institution_id, []).append(item)
    unknown: dict[str, None] = {}
    for institution_id, institution_items in sorted(by_institution.items()):
        people = [requesters.get(requester_key(item.requester) or "") for item in institution_items]
        for item, person in zip(institution_items, people, strict=True):
            if person is None and item.requester and requester_key(item.requester) != SYSTEM_USER:
                unknown.setdefault(f"{shown(item.requester)} (WorkItem {item.work_item_id})", None)
        plan.alerts.append(
            PlannedAlert(
                type=RESTORATION_COMPLETED,
                subject=SPOT_TEST_COMPLETED_SUBJECT
                if all(item.spot_test for item in institution_items)
                else RESTORATION_COMPLETED,
                institution_id=institution_id,
                institution=institution_items[0].institution,
                audience=INSTITUTION_AUDIENCE,
                content=_digest_content(institution_items),
                user_ids=recipient_ids([*people, *admins.get(institution_id, ())]),
                linked_ids=tuple(sorted(item.work_item_id for item in institution_items)),
            )
        )
    plan.requesters_without_user = list(unknown)
    return plan


def _digest_content(items: list[RestoredItem]) -> str:
    first = items[0]
    by_requester: dict[str, list[RestoredItem]] = {}
    for item in sorted(items, key=lambda item: item.work_item_id):
        by_requester.setdefault(item.requester or "(unknown requester)", []).append(item)
    noun = "restoration" if len(items) == 1 else "restorations"
    lines = [
        f"{len(items)} {noun} for {first.institution_name} ({first.institution}) completed successfully.",
        "",
    ]
    for requester, requested in sorted(by_requester.items()):
        lines.append(f"Requested by {requester}:")
        for item in requested:
            lines.extend(_restored_item_lines(item))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _restored_item_lines(item: RestoredItem) -> list[str]:
    label = " [spot test]" if item.spot_test else ""
    what = item.file_identifier or item.object_identifier or "(unknown item)"
    location = restore_location(item.note) or "(location not recorded; see the WorkItem)"
    finished = f", finished {item.date_processed:%Y-%m-%d %H:%M} UTC" if item.date_processed else ""
    return [
        f"  - {what}{label}: {item.action}, WorkItem {item.work_item_id}{finished}",
        f"    fetch it from: {location}",
    ]


def deletion_requested(
    *,
    institution_id: int,
    institution: str,
    requester: Recipient,
    identifiers: Sequence[str],
    admins: Sequence[Recipient],
    approval_link: str | None,
) -> PlannedAlert:
    """Asks the institution's active admins (never the requester) to approve or reject a deletion."""
    lines = [
        f"{requester.email} asks to delete {len(identifiers)} item(s) of {institution}:",
        "",
        *(f"  - {identifier}" for identifier in identifiers),
        "",
        f"Approve or reject it here: {approval_link}"
        if approval_link
        else "Approve or reject it under Required Actions in Airflow.",
        f"Only an active registry user of {institution} other than the requester may approve,",
        "signed in to Airflow under their registry email; any other approval fails the request.",
    ]
    return _deletion_alert(
        DELETION_REQUESTED, institution_id, institution, lines, recipient_ids(admins, excluding=[requester.user_id])
    )


def deletion_confirmed(
    *,
    institution_id: int,
    institution: str,
    requester: Recipient,
    approver: Recipient,
    deletions: Sequence[tuple[str, int]],
    admins: Sequence[Recipient],
) -> PlannedAlert:
    """Lists every item queued for deletion (``deletions``: identifier, Delete WorkItem id), linking
    the WorkItems; to the requester and the institution's active admins."""
    lines = [
        f"{len(deletions)} item(s) of {institution} are queued for deletion.",
        f"Requested by: {requester.email}",
        f"Approved by: {approver.email}",
        "",
        *(f"  - {identifier} (WorkItem {work_item_id})" for identifier, work_item_id in deletions),
    ]
    alert = _deletion_alert(DELETION_CONFIRMED, institution_id, institution, lines, recipient_ids([requester, *admins]))
    return replace(alert, linked_ids=tuple(sorted(work_item_id for _, work_item_id in deletions)))


def deletion_cancelled(
    *,
    institution_id: int,
    institution: str,
    requester: Recipient,
    identifiers: Sequence[str],
    cancelled_by: str | None,
    admins: Sequence[Recipient],
) -> PlannedAlert:
    """Says a deletion request was rejected (``cancelled_by``) or timed out (None); nothing is deleted."""
    why = f"was rejected by {cancelled_by}" if cancelled_by else "was not approved in time"
    lines = [
        f"The request of {requester.email} to delete {len(identifiers)} item(s) of {institution} {why}.",
        "Nothing is deleted.",
        "",
        *(f"  - {identifier}" for identifier in identifiers),
    ]
    return _deletion_alert(DELETION_CANCELLED, institution_id, institution, lines, recipient_ids([requester, *admins]))


def _deletion_alert(
    alert_type: str, institution_id: int, institution: str, lines: list[str], user_ids: tuple[int, ...]
) -> PlannedAlert:
    return PlannedAlert(
        type=alert_type,
        institution_id=institution_id,
        institution=institution,
        audience=INSTITUTION_AUDIENCE,
        content="\n".join(lines) + "\n",
        user_ids=user_ids,
        linked_ids=(),
    )
