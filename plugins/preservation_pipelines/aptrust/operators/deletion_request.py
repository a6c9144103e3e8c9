"""Recording a bulk deletion's decision on the registry's own model: ``deletion_requests`` with its
objects and files, the Delete WorkItems of a confirmed one, and its alert, all in one transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.aptrust.alerts import Recipient
    from include.aptrust.deletion import DeletionDecision, RegistryItem, RegistryUser
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook


def request_key(context) -> str:
    """The run a deletion request belongs to (``dag_deletion_requests.request_key``)."""
    return f"{context['dag'].dag_id}/{context['run_id']}"


def recipient(user: RegistryUser) -> Recipient:
    from include.aptrust.alerts import Recipient

    return Recipient(user.id, user.email)


def deletion_request_of_run(registry: AptrustRegistryHook, context) -> dict[str, Any] | None:
    """The run's deletion request (who asked and decided, when, its Delete WorkItems), if recorded."""
    from include.aptrust import deletion_sql

    rows = registry.query(deletion_sql.DELETION_REQUEST_OF_RUN, {"request_key": request_key(context)})
    return rows[0] if rows else None


def record_decision(
    registry: AptrustRegistryHook, context, decision: DeletionDecision, *, items_of, build_alert
) -> dict[str, Any]:
    """The run's decided ``deletion_requests`` row (requested when the run started) with its objects and
    files, mapped to the run (``dag_deletion_requests``); if confirmed, one Delete WorkItem per item
    linked to it; and its alert. One transaction under a lock on the run: a retry or clear returns
    what the run recorded.

    ``items_of(find) -> items`` (``find(identifiers)`` row-locks them) raises if the items may not be
    deleted; ``build_alert(deletions, admins) -> PlannedAlert``, deletions being (identifier, Delete
    WorkItem id). Returns the request as ``deletion_request_of_run``.
    """
    from include.aptrust import deletion_sql
    from include.aptrust.deletion import unsent_token_hash
    from include.aptrust.restore_request_sql import LOCK_RUN
    from preservation_pipelines.aptrust.hooks.registry import _rows

    key, dag_run = request_key(context), context.get("dag_run")
    with registry.transaction() as cursor:
        cursor.execute(LOCK_RUN, {"lock_key": key})
        cursor.execute(deletion_sql.DELETION_REQUEST_OF_RUN, {"request_key": key})
        if _rows(cursor):
            return deletion_request_of_run(registry, context)
        items = items_of(lambda identifiers: registry.find_items(cursor, identifiers))
        cursor.execute(
            deletion_sql.INSERT_DELETION_REQUEST,
            {
                "institution_id": decision.institution_id,
                "requested_by_id": decision.requester.id,
                "requested_at": getattr(dag_run, "start_date", None) or datetime.now(UTC),
                "encrypted_confirmation_token": unsent_token_hash(),
                "confirmed_by_id": decision.confirmed_by.id if decision.confirmed_by else None,
                "confirmed": decision.confirmed,
                "cancelled_by_id": decision.cancelled_by.id if decision.cancelled_by else None,
            },
        )
        request_id = cursor.fetchone()[0]
        objects = [item.intellectual_object_id for item in items if item.kind == "object"]
        files = [item.generic_file_id for item in items if item.kind == "file"]
        cursor.execute(
            deletion_sql.INSERT_DELETION_REQUEST_OBJECTS, {"deletion_request_id": request_id, "ids": objects}
        )
        cursor.execute(deletion_sql.INSERT_DELETION_REQUEST_FILES, {"deletion_request_id": request_id, "ids": files})
        cursor.execute(
            deletion_sql.INSERT_DAG_DELETION_REQUEST, {"request_key": key, "deletion_request_id": request_id}
        )
        deletions = (
            [(item.identifier, _insert_delete_work_item(cursor, item, request_id, decision)) for item in items]
            if decision.confirmed
            else []
        )
        admins = registry.institution_admins(cursor, [decision.institution_id]).get(decision.institution_id, [])
        alert = replace(build_alert(deletions, admins), deletion_request_id=request_id)
        registry.insert_alert(cursor, alert, dag_id=context["dag"].dag_id, dag_run_id=context["run_id"])
    return deletion_request_of_run(registry, context)


def _insert_delete_work_item(cursor, item: RegistryItem, request_id: int, decision: DeletionDecision) -> int:
    from include.aptrust import sql
    from include.aptrust.work_items import DELETE
    from preservation_pipelines.aptrust.hooks.registry import _rows

    cursor.execute(sql.WORK_ITEM_SOURCE, {"object_id": item.intellectual_object_id})
    source = _rows(cursor)[0]
    requester, approver = decision.requester.email, decision.confirmed_by.email
    cursor.execute(
        sql.INSERT_WORK_ITEM,
        {
            "name": source["name"] or source["bag_name"],
            "etag": source["etag"],
            "institution_id": decision.institution_id,
            "intellectual_object_id": item.intellectual_object_id,
            "generic_file_id": item.generic_file_id,
            "bucket": source["bucket"],
            "user": requester,
            "inst_approver": approver,
            "note": f"Deletion request {request_id}: requested by {requester}, approved by {approver}",
            "action": DELETE,
            "bag_date": source["bag_date"],
            "size": None,
            "deletion_request_id": request_id,
        },
    )
    return cursor.fetchone()[0]
