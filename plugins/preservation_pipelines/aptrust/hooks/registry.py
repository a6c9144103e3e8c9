"""The APTrust registry database, through the postgres provider's hook.

Every statement comes from ``include.aptrust.sql``; this hook owns connections and
transactions and turns rows into plain dicts. Each public method is one
transaction, committed before it returns, so a task that dies part-way leaves only
whole units of work behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook

from include.aptrust import alerts_sql, sql
from include.aptrust.alerts import FAILED_FIXITY_CHECK, PlannedAlert, Recipient
from include.aptrust.deletion import RegistryItem, RegistryUser
from include.aptrust.restore_request_sql import LOCK_RUN
from include.aptrust.work_items import SPOT_TEST_NOTE, SYSTEM_USER, object_restore_action


def _rows(cursor) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class AptrustRegistryHook(PostgresHook):
    """Registry reads and writes of the APTrust batch DAGs (connection ``aptrust_registry``)."""

    default_conn_name = "aptrust_registry"

    def __init__(self, postgres_conn_id: str = default_conn_name, **kwargs) -> None:
        super().__init__(postgres_conn_id=postgres_conn_id, **kwargs)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in one transaction: committed on success, rolled back on any error."""
        conn = self.get_conn()
        try:
            with conn.cursor() as cursor:
                yield cursor
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def query(self, statement: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.transaction() as cursor:
            cursor.execute(statement, parameters or {})
            return _rows(cursor)

    # -- spot tests ----------------------------------------------------------------
    def spot_test_institutions(self) -> list[dict[str, Any]]:
        return self.query(sql.SPOT_TEST_INSTITUTIONS)

    def spot_test_of_month(self, institution_id: int, month: date) -> int | None:
        rows = self.query(sql.SPOT_TEST_OF_MONTH, {"institution_id": institution_id, "month": month})
        return rows[0]["work_item_id"] if rows else None

    def active_object_ids(self, institution_id: int) -> list[int]:
        return [row["id"] for row in self.query(sql.ACTIVE_OBJECT_IDS, {"institution_id": institution_id})]

    def eligible_sizes(self, object_ids: Sequence[int], restored_since: datetime, cursor=None) -> dict[int, int]:
        """{object id: size} for the ids that may be spot-tested."""
        parameters = {"object_ids": list(object_ids), "restored_since": restored_since}
        if cursor is None:
            rows = self.query(sql.SPOT_TEST_ELIGIBLE_AMONG, parameters)
        else:
            cursor.execute(sql.SPOT_TEST_ELIGIBLE_AMONG, parameters)
            rows = _rows(cursor)
        return {row["id"]: int(row["size"]) for row in rows}

    def create_spot_test(
        self, *, institution_id: int, month: date, object_id: int, dag_run_id: str
    ) -> tuple[int, bool]:
        """Create the month's spot-test WorkItem (not queued) and record it; one transaction.

        The action follows the object's storage option (Glacier Restore or Restore Object);
        name, etag, bucket and bag_date come from its last successful ingest.

        Returns (work item id, created). If the month already has a spot test for the
        institution (a concurrent or earlier run), nothing is created and its id is returned.
        """
        with self.transaction() as cursor:
            cursor.execute(sql.WORK_ITEM_SOURCE, {"object_id": object_id})
            source = _rows(cursor)[0]
            cursor.execute(
                sql.INSERT_WORK_ITEM,
                {
                    "name": source["name"],
                    "etag": source["etag"],
                    "institution_id": institution_id,
                    "intellectual_object_id": object_id,
                    "generic_file_id": None,
                    "bucket": source["bucket"],
                    "user": SYSTEM_USER,
                    "inst_approver": None,
                    "note": SPOT_TEST_NOTE,
                    "action": object_restore_action(source["storage_option"]),
                    "bag_date": source["bag_date"],
                    "size": source["size"],
                    "deletion_request_id": None,
                },
            )
            work_item_id = cursor.fetchone()[0]
            cursor.execute(
                sql.CLAIM_SPOT_TEST,
                {
                    "institution_id": institution_id,
                    "month": month,
                    "work_item_id": work_item_id,
                    "dag_run_id": dag_run_id,
                },
            )
            if cursor.fetchone() is None:
                cursor.connection.rollback()
                return self.spot_test_of_month(institution_id, month), False
            cursor.execute(
                sql.RECORD_LAST_SPOT_RESTORE, {"work_item_id": work_item_id, "institution_id": institution_id}
            )
            return work_item_id, True

    # -- the work queue ------------------------------------------------------------
    @contextmanager
    def unqueued_work_items(self, work_item_ids: Sequence[int]) -> Iterator[tuple[list[dict[str, Any]], Any]]:
        """The not-yet-queued items among ``work_item_ids``, row-locked until the block ends.

        The block gets (rows, mark_queued); ``mark_queued(ids)`` sets ``queued_at`` in
        the same transaction, committed when the block ends without error.
        """
        with self.transaction() as cursor:
            cursor.execute(sql.UNQUEUED_WORK_ITEMS, {"work_item_ids": list(work_item_ids)})
            rows = _rows(cursor)

            def mark_queued(ids: Sequence[int]) -> None:
                if ids:
                    cursor.execute(sql.MARK_QUEUED, {"work_item_ids": list(ids)})

            yield rows, mark_queued

    # -- alerts ----------------------------------------------------------------------
    @staticmethod
    def insert_alert(
        cursor, alert: PlannedAlert, *, dag_id: str, dag_run_id: str, interval_start: datetime | None = None
    ) -> int:
        """Record ``alert`` as the registry does (``alerts``, ``alerts_users`` unsent, its links) and as
        the DAGs' (``dag_alerts``: only those are ever sent by the DAGs), in the caller's transaction."""
        cursor.execute(
            alerts_sql.INSERT_ALERT,
            {
                "institution_id": alert.institution_id,
                "type": alert.type,
                "subject": alert.subject,
                "content": alert.content,
                "deletion_request_id": alert.deletion_request_id,
            },
        )
        alert_id = cursor.fetchone()[0]
        cursor.execute(alerts_sql.INSERT_ALERT_USERS, {"alert_id": alert_id, "user_ids": list(alert.user_ids)})
        if alert.linked_ids:
            cursor.execute(
                alerts_sql.INSERT_ALERT_PREMIS_EVENTS
                if alert.type == FAILED_FIXITY_CHECK
                else alerts_sql.INSERT_ALERT_WORK_ITEMS,
                {"alert_id": alert_id, "linked_ids": list(alert.linked_ids)},
            )
        cursor.execute(
            alerts_sql.INSERT_DAG_ALERT,
            {
                "alert_id": alert_id,
                "dag_id": dag_id,
                "dag_run_id": dag_run_id,
                "type": alert.type,
                "audience": alert.audience,
                "interval_start": interval_start,
            },
        )
        return alert_id

    @staticmethod
    def institution_admins(cursor, institution_ids: Sequence[int]) -> dict[int, list[Recipient]]:
        """The active institutional admins of each institution, as recipients."""
        cursor.execute(alerts_sql.INSTITUTION_ADMINS, {"institution_ids": list(institution_ids)})
        admins: dict[int, list[Recipient]] = {}
        for row in _rows(cursor):
            admins.setdefault(row.pop("institution_id"), []).append(Recipient(**row))
        return admins

    def record_run_alert_once(
        self, build_alert, *, alert_type: str, institution_id: int, dag_id: str, dag_run_id: str
    ) -> tuple[int, PlannedAlert | None]:
        """The run's alert of ``alert_type``: recorded now from ``build_alert(admins)`` (the institution's
        active admins) unless the run has one already. One transaction under a lock on run and type.

        Returns (alert id, the alert if recorded now else None).
        """
        with self.transaction() as cursor:
            cursor.execute(LOCK_RUN, {"lock_key": f"{dag_id}/{dag_run_id}/{alert_type}"})
            cursor.execute(
                alerts_sql.RUN_ALERT_OF_TYPE, {"dag_id": dag_id, "dag_run_id": dag_run_id, "type": alert_type}
            )
            found = cursor.fetchone()
            if found is not None:
                return found[0], None
            alert = build_alert(self.institution_admins(cursor, [institution_id]).get(institution_id, []))
            return self.insert_alert(cursor, alert, dag_id=dag_id, dag_run_id=dag_run_id), alert

    # -- bulk deletion -----------------------------------------------------------------
    def institution(self, identifier: str) -> dict[str, Any] | None:
        rows = self.query(sql.INSTITUTION_BY_IDENTIFIER, {"identifier": identifier})
        return rows[0] if rows else None

    def active_users(self, email_key: str) -> list[RegistryUser]:
        """The active users whose address is ``email_key`` case-insensitively (``inputs.address_key``)."""
        return [RegistryUser(**row) for row in self.query(sql.ACTIVE_USERS_BY_EMAIL, {"email": email_key})]

    @staticmethod
    def find_items(cursor, identifiers: Sequence[str]) -> list[RegistryItem]:
        """Objects and files named by ``identifiers``, row-locked for the transaction."""
        found = []
        for statement in (sql.OBJECTS_BY_IDENTIFIER, sql.FILES_BY_IDENTIFIER):
            cursor.execute(statement, {"identifiers": list(identifiers)})
            for row in _rows(cursor):
                row["pending_work_item_ids"] = tuple(row["pending_work_item_ids"])
                found.append(RegistryItem(**row))
        return found

    def lookup_items(self, identifiers: Sequence[str]) -> list[RegistryItem]:
        with self.transaction() as cursor:
            return self.find_items(cursor, identifiers)
