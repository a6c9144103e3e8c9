"""The emails the DAGs send: restore digests and deletion confirmations, as plain data.

An email is built once, stored in the registry's ``emails`` table, and sent from
there; its Message-ID is derived from what it reports, so a message sent twice
after a crash carries the same Message-ID both times.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from include.aptrust.inputs import InvalidAddress, address_key, email_address
from include.aptrust.work_items import SYSTEM_USER

RESTORE_DIGEST = "restore_digest"
DELETION_CONFIRMATION = "deletion_confirmation"
DELETION_REQUEST = "deletion_request"
MESSAGE_ID_DOMAIN = "registry.aptrust.org"
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


@dataclass(frozen=True)
class OutgoingEmail:
    email_type: str
    institution_id: int
    message_id: str
    recipients: list[str]
    subject: str
    body: str
    work_item_ids: list[int] = field(default_factory=list)
    # people left out because their address is not one (each with the reason); not stored
    invalid_recipients: list[str] = field(default_factory=list)


class Recipients(NamedTuple):
    addresses: list[str]
    invalid: list[str]


def restore_location(note: str | None) -> str | None:
    """Where a restored item can be fetched: what follows `` restored to `` in the note."""
    if not note or RESTORED_TO not in note:
        return None
    location = note.rsplit(RESTORED_TO, 1)[1].strip().rstrip(".")
    return location or None


def recipient_list(people: Iterable[str | None], excluding: Iterable[str] = ()) -> Recipients:
    """Unique normalised addresses (case-insensitive), sorted, and what is not an address.

    Blanks, the system account (nobody's inbox) and ``excluding`` are left out silently.
    """
    unwanted = {address_key(SYSTEM_USER), *(address_key(address) for address in excluding)}
    unique: dict[str, str] = {}
    invalid: dict[str, None] = {}
    for person in people:
        if person is None or (isinstance(person, str) and not person.strip()):
            continue
        try:
            address = email_address(person)
        except InvalidAddress as error:
            invalid.setdefault(str(error), None)
            continue
        if address_key(address) not in unwanted:
            unique.setdefault(address_key(address), address)
    return Recipients(sorted(unique.values(), key=str.lower), list(invalid))


def message_id(email_type: str, institution_id: int, keys: Sequence[object]) -> str:
    digest = hashlib.sha256(",".join(map(str, keys)).encode()).hexdigest()[:20]
    return f"<{email_type}.{institution_id}.{digest}@{MESSAGE_ID_DOMAIN}>"


def restore_digests(items: Sequence[RestoredItem], admins: Mapping[int, Sequence[str]]) -> list[OutgoingEmail]:
    """One digest per institution listing every item, grouped by requester.

    Recipients: the requesters plus the institution's active institutional admins.
    """
    by_institution: dict[int, list[RestoredItem]] = {}
    for item in items:
        by_institution.setdefault(item.institution_id, []).append(item)
    return [
        _restore_digest(institution_items, admins.get(institution_id, ()))
        for institution_id, institution_items in sorted(by_institution.items())
    ]


def _restore_digest(items: list[RestoredItem], admins: Sequence[str]) -> OutgoingEmail:
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
    ids = sorted(item.work_item_id for item in items)
    recipients = recipient_list([*(item.requester for item in items), *admins])
    return OutgoingEmail(
        email_type=RESTORE_DIGEST,
        institution_id=first.institution_id,
        message_id=message_id(RESTORE_DIGEST, first.institution_id, ids),
        recipients=recipients.addresses,
        subject=f"APTrust: {len(items)} {noun} completed for {first.institution}",
        body="\n".join(lines).rstrip() + "\n",
        work_item_ids=ids,
        invalid_recipients=recipients.invalid,
    )


def _restored_item_lines(item: RestoredItem) -> list[str]:
    label = " [spot test]" if item.spot_test else ""
    what = item.file_identifier or item.object_identifier or "(unknown item)"
    location = restore_location(item.note) or "(location not recorded; see the WorkItem)"
    finished = f", finished {item.date_processed:%Y-%m-%d %H:%M} UTC" if item.date_processed else ""
    return [
        f"  - {what}{label}: {item.action}, WorkItem {item.work_item_id}{finished}",
        f"    fetch it from: {location}",
    ]


def deletion_confirmation(
    *,
    institution_id: int,
    institution: str,
    request_key: str,
    requester: str,
    approver: str,
    deletions: Sequence[tuple[str, int]],
    admins: Sequence[str],
) -> OutgoingEmail:
    """One email listing every item queued for deletion, to the requester and the admins.

    ``deletions`` are (identifier, Delete WorkItem id) pairs.
    """
    lines = [
        f"{len(deletions)} item(s) of {institution} are queued for deletion.",
        f"Requested by: {requester}",
        f"Approved by: {approver}",
        "",
        *(f"  - {identifier} (WorkItem {work_item_id})" for identifier, work_item_id in deletions),
    ]
    recipients = recipient_list([requester, *admins])
    return OutgoingEmail(
        email_type=DELETION_CONFIRMATION,
        institution_id=institution_id,
        message_id=message_id(DELETION_CONFIRMATION, institution_id, [request_key]),
        recipients=recipients.addresses,
        subject=f"APTrust: {len(deletions)} item(s) of {institution} queued for deletion",
        body="\n".join(lines) + "\n",
        work_item_ids=sorted(work_item_id for _, work_item_id in deletions),
        invalid_recipients=recipients.invalid,
    )


def deletion_request(
    *,
    institution_id: int,
    institution: str,
    request_key: str,
    requester: str,
    identifiers: Sequence[str],
    admins: Sequence[str],
    approval_link: str | None,
) -> OutgoingEmail:
    """Asks the institution's admins to approve or reject a deletion request (not the requester)."""
    lines = [
        f"{requester} asks to delete {len(identifiers)} item(s) of {institution}:",
        "",
        *(f"  - {identifier}" for identifier in identifiers),
        "",
        f"Approve or reject it here: {approval_link}"
        if approval_link
        else "Approve or reject it under Required Actions in Airflow.",
        "Nothing is deleted unless an active registry user other than the requester approves,",
        "signed in to Airflow under their registry email.",
    ]
    recipients = recipient_list(admins, excluding=[requester])
    return OutgoingEmail(
        email_type=DELETION_REQUEST,
        institution_id=institution_id,
        message_id=message_id(DELETION_REQUEST, institution_id, [request_key]),
        recipients=recipients.addresses,
        subject=f"APTrust: approve deletion of {len(identifiers)} item(s) of {institution}?",
        body="\n".join(lines) + "\n",
        invalid_recipients=recipients.invalid,
    )
