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

from include.aptrust import sql
from include.aptrust.deletion import RegistryItem, RegistryUser
from include.aptrust.mail import OutgoingEmail, RestoredItem
from include.aptrust.work_items import DELETE, SPOT_TEST_NOTE, SYSTEM_USER, object_restore_action


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

    # -- emails ----------------------------------------------------------------------
    def record_restore_digests(self, not_before: datetime, build_digests) -> dict[int, OutgoingEmail]:
        """Lock un-notified successful restores, store their digests, mark them notified.

        ``build_digests(items, admins)`` turns the rows into emails. The stored emails
        and the marks are one transaction: either both exist or neither does. Returns
        the stored emails by id.
        """
        with self.transaction() as cursor:
            cursor.execute(sql.RESTORES_TO_NOTIFY, {"not_before": not_before})
            items = [RestoredItem(**row) for row in _rows(cursor)]
            if not items:
                return {}
            institution_ids = sorted({item.institution_id for item in items})
            cursor.execute(sql.ACTIVE_ADMINS, {"institution_ids": institution_ids})
            admins: dict[int, list[str]] = {}
            for row in _rows(cursor):
                admins.setdefault(row["institution_id"], []).append(row["email"])
            stored = {}
            for email in build_digests(items, admins):
                email_id = self._insert_email(cursor, email)
                cursor.execute(sql.MARK_NOTIFIED, {"email_id": email_id, "work_item_ids": email.work_item_ids})
                stored[email_id] = email
            return stored

    @staticmethod
    def _insert_email(cursor, email: OutgoingEmail) -> int:
        cursor.execute(
            sql.INSERT_EMAIL,
            {
                "email_type": email.email_type,
                "institution_id": email.institution_id,
                "message_id": email.message_id,
                "recipients": email.recipients,
                "subject": email.subject,
                "body": email.body,
                "work_item_ids": email.work_item_ids,
            },
        )
        return cursor.fetchone()[0]

    def unsent_emails(self, email_type: str) -> list[dict[str, Any]]:
        return self.query(sql.UNSENT_EMAILS_OF_TYPE, {"email_type": email_type})

    def unsent_email(self, email_id: int) -> list[dict[str, Any]]:
        return self.query(sql.UNSENT_EMAIL, {"email_id": email_id})

    def mark_email_sent(self, email_id: int, refused: Sequence[str]) -> None:
        with self.transaction() as cursor:
            cursor.execute(sql.MARK_EMAIL_SENT, {"email_id": email_id, "refused": list(refused)})

    def mark_email_failed(self, email_id: int, error: str, refused: Sequence[str]) -> None:
        with self.transaction() as cursor:
            cursor.execute(sql.MARK_EMAIL_FAILED, {"email_id": email_id, "error": error, "refused": list(refused)})

    # -- bulk deletion -----------------------------------------------------------------
    def institution(self, identifier: str) -> dict[str, Any] | None:
        rows = self.query(sql.INSTITUTION_BY_IDENTIFIER, {"identifier": identifier})
        return rows[0] if rows else None

    def active_admins(self, institution_id: int) -> list[str]:
        return [row["email"] for row in self.query(sql.ACTIVE_ADMINS, {"institution_ids": [institution_id]})]

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

    def bulk_delete_job(self, request_key: str) -> dict[str, Any] | None:
        rows = self.query(sql.BULK_DELETE_JOB, {"request_key": request_key})
        return rows[0] if rows else None

    def create_bulk_delete_job(
        self, *, request_key: str, institution_id: int, requester: str, approver: str, check_items, build_email
    ) -> dict[str, Any]:
        """In one transaction: re-check the items (locked), create the job, one Delete
        WorkItem per item, and the confirmation email. Returns the job as ``bulk_delete_job``.

        ``check_items(found) -> items`` raises if anything changed since validation;
        ``build_email(deletions, admins) -> OutgoingEmail``.
        """
        with self.transaction() as cursor:
            cursor.execute(
                sql.INSERT_BULK_DELETE_JOB,
                {
                    "request_key": request_key,
                    "institution_id": institution_id,
                    "requested_by": requester,
                    "approved_by": approver,
                },
            )
            job_id = cursor.fetchone()[0]
            items = check_items(lambda identifiers: self.find_items(cursor, identifiers))
            deletions = []
            for item in items:
                cursor.execute(sql.WORK_ITEM_SOURCE, {"object_id": item.intellectual_object_id})
                source = _rows(cursor)[0]
                cursor.execute(
                    sql.INSERT_WORK_ITEM,
                    {
                        "name": source["name"] or source["bag_name"],
                        "etag": source["etag"],
                        "institution_id": institution_id,
                        "intellectual_object_id": item.intellectual_object_id,
                        "generic_file_id": item.generic_file_id,
                        "bucket": source["bucket"],
                        "user": requester,
                        "inst_approver": approver,
                        "note": f"Bulk deletion {request_key}: requested by {requester}, approved by {approver}",
                        "action": DELETE,
                        "bag_date": source["bag_date"],
                        "size": None,
                    },
                )
                work_item_id = cursor.fetchone()[0]
                cursor.execute(
                    sql.INSERT_BULK_DELETE_ITEM,
                    {
                        "job_id": job_id,
                        "identifier": item.identifier,
                        "work_item_id": work_item_id,
                    },
                )
                deletions.append((item.identifier, work_item_id))
            cursor.execute(sql.ACTIVE_ADMINS, {"institution_ids": [institution_id]})
            admins = [row["email"] for row in _rows(cursor)]
            email_id = self._insert_email(cursor, build_email(deletions, admins))
            cursor.execute(sql.RECORD_CONFIRMATION_EMAIL, {"email_id": email_id, "job_id": job_id})
        return self.bulk_delete_job(request_key)
