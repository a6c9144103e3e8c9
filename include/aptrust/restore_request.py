"""Restoration requests (DAG ``aptrust_restore_request``): the request judged whole, the WorkItems as the registry writes them.

The registry's Restore button, for a list of objects and files at once. A request is
accepted only if every line of it passes (the requester, the list, each item); otherwise
every failing line is reported with its reason and nothing is created. The rules are the
registry's plus the two checks the seed asks for and the registry skips: a file whose
object is deleted, and pending work on a file's parent object (docs/aptrust.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from include.aptrust.deletion import DeletionListRejected, Problem, requested_identifiers
from include.aptrust.inputs import InvalidAddress, email_address
from include.aptrust.work_items import (
    GLACIER_RESTORE,
    GLACIER_STORAGE_OPTIONS,
    PENDING_STATUS,
    REQUESTED_STAGE,
    RESTORE_FILE,
    RESTORE_OBJECT,
)

# The reasons, as the spec words them (an item's line may add details in parentheses).
UNKNOWN_REQUESTER = "unknown requester"
FORBIDDEN = "forbidden"
NOT_FOUND = "not found"
DELETED = "deleted"
PENDING_WORK = "pending work"
OBJECT_IN_REQUEST = "conflict (object restored in the same request)"
NO_INGEST_RECORD = "no ingest record"

# Role that may restore any institution's items; every other role only its own.
APTRUST_ADMIN_ROLE = "admin"
# A new WorkItem's note and outcome until a worker picks it up (the registry's words).
NOT_STARTED = "Not started"
# The stages a finished ingest ends in: the registry copies its last successful WorkItem
# in one of them, whatever the action, into a new restore.
INGEST_RECORDED_STAGES = ("Record", "Cleanup")


class RestorationListRejected(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        listed = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"restoration request rejected, nothing was created; {len(self.problems)} line(s) failed:\n{listed}"
        )


@dataclass(frozen=True)
class RestorationRequest:
    """The params, parsed: the requester's normalised address and the identifiers, each once, in order."""

    requester: str
    identifiers: tuple[str, ...]


def parse_restoration_request(requester: object, identifiers: object) -> RestorationRequest:
    """Both params checked together; raises RestorationListRejected naming every bad one."""
    problems: list[Problem] = []
    address = None
    try:
        address = email_address(requester)
    except InvalidAddress as error:
        problems.append(Problem("(requester)", str(error)))
    try:
        items = requested_identifiers(identifiers)
    except DeletionListRejected as rejected:  # the list rules are the deletion request's
        problems += rejected.problems
    if problems:
        raise RestorationListRejected(problems)
    return RestorationRequest(address, tuple(items))


@dataclass(frozen=True)
class Requester:
    """An active registry user (a ``users`` row with ``deactivated_at`` NULL) and their institution."""

    id: int
    email: str
    role: str
    institution_id: int
    institution: str


@dataclass(frozen=True)
class RestoreItem:
    """An object, or a file with its object, as the registry has it (one row of the lookup statements).

    ``last_*`` come from the object's last successful WorkItem in stage Record or
    Cleanup (None when there is none); ``size`` is the object's current size.
    """

    kind: str  # "object" or "file"
    identifier: str
    generic_file_id: int | None
    file_state: str | None
    intellectual_object_id: int
    object_identifier: str
    object_state: str
    bag_name: str
    storage_option: str
    object_etag: str | None
    object_created_at: datetime
    institution_id: int
    institution: str
    receiving_bucket: str | None
    last_name: str | None
    last_etag: str | None
    last_bucket: str | None
    last_bag_date: datetime | None
    last_institution_id: int | None
    size: int
    pending_work_item_ids: tuple[int, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RestoreItem:
        return cls(
            **{**row, "size": int(row["size"] or 0), "pending_work_item_ids": tuple(row["pending_work_item_ids"])}
        )

    @property
    def has_ingest_record(self) -> bool:
        return self.last_name is not None or self.object_etag is not None


def resolved(
    identifiers: Sequence[str], objects: Iterable[RestoreItem], files: Iterable[RestoreItem]
) -> dict[str, RestoreItem]:
    """{identifier: item}: each identifier as an object first, as a file only if no object has it."""
    wanted = set(identifiers)
    found = {item.identifier: item for item in files if item.identifier in wanted}
    found.update({item.identifier: item for item in objects if item.identifier in wanted})
    return found


def judge_restoration_list(
    request: RestorationRequest, users: Sequence[Requester], found: Mapping[str, RestoreItem]
) -> tuple[Requester, list[RestoreItem]]:
    """(requester, the items in list order), or RestorationListRejected naming every failing line.

    ``users``: the active registry users with the requester's address (case-insensitively);
    ``found``: what ``resolved`` made of the identifiers.
    """
    problems: list[Problem] = []
    requester = users[0] if len(users) == 1 else None
    if requester is None:
        several = " (several active users have that address)" if users else ""
        problems.append(Problem(f"(requester) {request.requester}", UNKNOWN_REQUESTER + several))
    whole_objects = {item.intellectual_object_id for item in found.values() if item.kind == "object"}
    for identifier in request.identifiers:
        reason = _reason(found.get(identifier), requester, whole_objects)
        if reason is not None:
            problems.append(Problem(identifier, reason))
    institutions = sorted({found[identifier].institution for identifier in request.identifiers if identifier in found})
    if len(institutions) > 1:
        problems.insert(0, Problem("(list)", f"mixes institutions: {', '.join(institutions)}"))
    if problems:
        raise RestorationListRejected(problems)
    return requester, [found[identifier] for identifier in request.identifiers]


def _reason(item: RestoreItem | None, requester: Requester | None, whole_objects: set[int]) -> str | None:
    if item is None:
        return NOT_FOUND
    if (
        requester is not None
        and requester.role != APTRUST_ADMIN_ROLE
        and item.institution_id != requester.institution_id
    ):
        return f"{FORBIDDEN} (an item of {item.institution}; {requester.email} is a user of {requester.institution})"
    if item.kind == "file" and item.file_state == "D":
        return DELETED
    if item.object_state == "D":
        return DELETED if item.kind == "object" else f"{DELETED} (its object {item.object_identifier} is deleted)"
    if item.pending_work_item_ids:
        on = "" if item.kind == "object" else f" on its object {item.object_identifier} or its files"
        return f"{PENDING_WORK}{on} (WorkItem {', '.join(map(str, item.pending_work_item_ids))})"
    if item.kind == "file" and item.intellectual_object_id in whole_objects:
        return f"{OBJECT_IN_REQUEST}: {item.object_identifier}"
    if not item.has_ingest_record:
        return f"{NO_INGEST_RECORD} (no successful ingest WorkItem and no etag on {item.object_identifier})"
    return None


def restore_action(item: RestoreItem) -> str:
    """By the object's storage option, also for a single file: a Glacier object's file needs Glacier Restore."""
    if item.storage_option in GLACIER_STORAGE_OPTIONS:
        return GLACIER_RESTORE
    return RESTORE_FILE if item.kind == "file" else RESTORE_OBJECT


def restore_work_item(item: RestoreItem, requester: str) -> dict[str, Any]:
    """The new WorkItem's values, as the registry writes a restore (timestamps are the database's now()).

    Name, etag, bucket, bag_date and institution repeat the object's last successful
    ingest; without one, the bag name + ``.tar``, the object's etag, the institution's
    receiving bucket and the object's creation time.
    """
    if item.last_name is not None:
        name, etag, bucket, bag_date = item.last_name, item.last_etag, item.last_bucket, item.last_bag_date
        institution_id = item.last_institution_id or item.institution_id
    elif item.object_etag is not None:
        name, etag, bucket, bag_date = (
            f"{item.bag_name}.tar",
            item.object_etag,
            item.receiving_bucket,
            item.object_created_at,
        )
        institution_id = item.institution_id
    else:
        raise ValueError(f"{item.identifier}: {NO_INGEST_RECORD}")
    return {
        "name": name,
        "etag": etag,
        "bucket": bucket,
        "bag_date": bag_date,
        "institution_id": institution_id,
        "intellectual_object_id": item.intellectual_object_id,
        "generic_file_id": item.generic_file_id,
        "user": requester,
        "action": restore_action(item),
        "stage": REQUESTED_STAGE,
        "status": PENDING_STATUS,
        "retry": True,
        "note": NOT_STARTED,
        "outcome": NOT_STARTED,
        "size": item.size,
    }
