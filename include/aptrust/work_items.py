"""Registry vocabulary: WorkItem actions, statuses, storage options and their work-queue topics."""

from __future__ import annotations

INGEST = "Ingest"
RESTORE_OBJECT = "Restore Object"
RESTORE_FILE = "Restore File"
GLACIER_RESTORE = "Glacier Restore"
DELETE = "Delete"

RESTORE_ACTIONS = (RESTORE_OBJECT, RESTORE_FILE, GLACIER_RESTORE)
OBJECT_RESTORE_ACTIONS = (RESTORE_OBJECT, GLACIER_RESTORE)

SUCCESS = "Success"
COMPLETED_STATUSES = (SUCCESS, "Failed", "Cancelled")

REQUESTED_STAGE = "Requested"
PENDING_STATUS = "Pending"
SYSTEM_USER = "system@aptrust.org"
SPOT_TEST_NOTE = "Automated object restoration spot test"

GLACIER_STORAGE_OPTIONS = frozenset(
    {"Glacier-OH", "Glacier-OR", "Glacier-VA", "Glacier-Deep-OH", "Glacier-Deep-OR", "Glacier-Deep-VA"}
)

TOPIC_BY_ACTION = {
    RESTORE_OBJECT: "restore_object",
    GLACIER_RESTORE: "restore_glacier",
    RESTORE_FILE: "restore_file",
    DELETE: "delete_item",
}


def object_restore_action(storage_option: str) -> str:
    """``Glacier Restore`` for the six Glacier options, ``Restore Object`` for every other."""
    return GLACIER_RESTORE if storage_option in GLACIER_STORAGE_OPTIONS else RESTORE_OBJECT


def topic_for(action: str) -> str:
    try:
        return TOPIC_BY_ACTION[action]
    except KeyError:
        raise ValueError(f"WorkItem action {action!r} has no work queue topic") from None
