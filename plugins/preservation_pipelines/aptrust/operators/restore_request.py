"""Restoration requests: the whole list validated first, then one restore WorkItem per item in one transaction.

The rules and the WorkItem's values are ``include.aptrust.restore_request``'s; this
module reads the registry for them and writes what they decide. Queueing is the common
``QueueWorkItemsOperator``'s.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator

if TYPE_CHECKING:
    from include.aptrust.restore_request import Requester, RestorationRequest, RestoreItem


class ValidateRestorationListOperator(AptrustBaseOperator):
    """Judge the requester and every identifier before anything is created.

    Fails without retry, one line per failing param or item with the reason (unknown
    requester, forbidden, not found, deleted, pending work, a file whose object is in the
    same request, no ingest record, a list mixing institutions). A run whose WorkItems
    exist already (the task cleared after the creation) is not judged again: its own
    WorkItems would be its pending work.
    """

    template_fields = ("requester", "identifiers")

    def __init__(self, *, requester: str, identifiers: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.requester = requester
        self.identifiers = identifiers

    def execute(self, context) -> dict[str, Any]:
        request = _parsed(self.requester, self.identifiers)
        with self.registry.transaction() as cursor:
            created = _run_work_items(cursor, context["run_id"])
            if created:
                self.log.info("this run created its %d WorkItem(s) already; not judged again", len(created))
                return {"requester": request.requester, "items": len(request.identifiers), "already_created": True}
            requester, items = _judged(cursor, request, locked=False)
        summary = {
            "requester": requester.email,
            "institution": items[0].institution,
            "objects": [item.identifier for item in items if item.kind == "object"],
            "files": [item.identifier for item in items if item.kind == "file"],
        }
        self.log.info("restoration request accepted: %s", summary)
        return summary


class CreateRestoreWorkItemsOperator(AptrustBaseOperator):
    """Create one restore WorkItem per item and record them as the run's, in one transaction.

    The items are judged again under row locks (things may have changed since the
    validation). A run that has its WorkItems already (retry, clear) gets them back and
    creates nothing: ``dag_restore_requests`` is keyed by run and identifier.
    """

    template_fields = ("requester", "identifiers")

    def __init__(self, *, requester: str, identifiers: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.requester = requester
        self.identifiers = identifiers

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust import restore_request_sql as sql
        from include.aptrust.restore_request import restore_work_item

        run_id = context["run_id"]
        request = _parsed(self.requester, self.identifiers)
        with self.registry.transaction() as cursor:
            cursor.execute(sql.LOCK_RUN, {"lock_key": f"aptrust_restore_request/{run_id}"})
            existing = _run_work_items(cursor, run_id)
            if not existing:
                try:
                    requester, items = _judged(cursor, request, locked=True)
                except AirflowFailException as rejected:
                    raise AirflowFailException(f"changed since the validation: {rejected}") from None
                for item in items:
                    cursor.execute(sql.INSERT_RESTORE_WORK_ITEM, restore_work_item(item, requester.email))
                    work_item_id = cursor.fetchone()[0]
                    cursor.execute(
                        sql.RECORD_RUN_WORK_ITEM,
                        {"dag_run_id": run_id, "identifier": item.identifier, "work_item_id": work_item_id},
                    )
            created = _run_work_items(cursor, run_id)
        summary = {
            "created": not existing,
            "work_items": {row["identifier"]: row["work_item_id"] for row in created},
            "work_item_ids": [row["work_item_id"] for row in created],
            "actions": dict(sorted(Counter(row["action"] for row in created).items())),
        }
        if existing:
            self.log.info("this run's %d WorkItem(s) exist already, nothing created: %s", len(existing), summary)
        else:
            self.log.info("created %d restore WorkItem(s): %s", len(created), summary)
        return summary


def _parsed(requester: Any, identifiers: Any) -> RestorationRequest:
    """The params parsed; a bad one fails the task at once (no retry), naming each."""
    from include.aptrust.restore_request import RestorationListRejected, parse_restoration_request

    try:
        return parse_restoration_request(requester, identifiers)
    except RestorationListRejected as rejected:
        raise AirflowFailException(str(rejected)) from None


def _run_work_items(cursor, run_id: str) -> list[dict[str, Any]]:
    from include.aptrust import restore_request_sql as sql
    from preservation_pipelines.aptrust.hooks.registry import _rows

    cursor.execute(sql.RUN_WORK_ITEMS, {"dag_run_id": run_id})
    return _rows(cursor)


def _judged(cursor, request: RestorationRequest, *, locked: bool) -> tuple[Requester, list[RestoreItem]]:
    """(requester, items) judged on the registry's rows, or the task fails (no retry) naming every failing line."""
    from include.aptrust import restore_request_sql as sql
    from include.aptrust.inputs import address_key
    from include.aptrust.restore_request import (
        Requester,
        RestorationListRejected,
        RestoreItem,
        judge_restoration_list,
        resolved,
    )
    from preservation_pipelines.aptrust.hooks.registry import _rows

    identifiers = list(request.identifiers)
    if locked:
        cursor.execute(sql.LOCK_OBJECTS, {"identifiers": identifiers})
        cursor.execute(sql.LOCK_FILES, {"identifiers": identifiers})
    cursor.execute(sql.ACTIVE_USERS_BY_EMAIL, {"email": address_key(request.requester)})
    users = [Requester(**row) for row in _rows(cursor)]
    cursor.execute(sql.OBJECTS_BY_IDENTIFIER, {"identifiers": identifiers})
    objects = [RestoreItem.from_row(row) for row in _rows(cursor)]
    as_objects = {item.identifier for item in objects}
    remaining = [identifier for identifier in identifiers if identifier not in as_objects]
    files: list[RestoreItem] = []
    if remaining:
        cursor.execute(sql.FILES_BY_IDENTIFIER, {"identifiers": remaining})
        files = [RestoreItem.from_row(row) for row in _rows(cursor)]
    try:
        return judge_restoration_list(request, users, resolved(identifiers, objects, files))
    except RestorationListRejected as rejected:
        raise AirflowFailException(str(rejected)) from None
