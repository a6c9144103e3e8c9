"""APTrust demo: a small registry (institutions, admins, objects, WorkItems) on the devstack's PostgreSQL.

``RegistryBuilder`` writes registry rows the way the registry would; the tests use it
too. ``seed()`` creates the tables (the one DDL, ``include/aptrust/registry.sql`` and ``legacy_pharos.sql``),
a few institutions with spot tests on, finished restores waiting for their digest,
objects to delete and objects to restore, a failed fixity check and a stalled ingest to
alert of; for `make demo` it also answers the bulk deletion's approval as a second person
would (``dag.test()`` never answers a human-in-the-loop task itself).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.settings import REPO_ROOT
from devstack.stack import Devstack

# registry.sql first: the legacy Pharos tables (and the archive's own) follow in their own file
REGISTRY_DDL_PATHS = (
    REPO_ROOT / "include" / "aptrust" / "registry.sql",
    REPO_ROOT / "include" / "aptrust" / "legacy_pharos.sql",
)
DEMO_INSTITUTION = "demo.edu"
DEMO_REQUESTER = "depositor@demo.edu"
DEMO_APPROVER = "approver@demo.edu"
DEMO_DELETIONS = [f"{DEMO_INSTITUTION}/old-bag-{n}" for n in range(3)] + [
    f"{DEMO_INSTITUTION}/mixed-bag/data/obsolete.txt"
]
# one of each restore action: an object, a file, a Glacier object
DEMO_RESTORATIONS = [
    f"{DEMO_INSTITUTION}/bag-3",
    f"{DEMO_INSTITUTION}/bag-4/data/file-0.txt",
    f"{DEMO_INSTITUTION}/cold-bag",
]


# The legacy Pharos tables the DDL creates, in their own schema (a Pharos-era registry has them
# in `public`; the DAGs' own tables never take their names); entity tables, then join tables.
LEGACY_SCHEMA = "pharos"
LEGACY_PHAROS_JOIN_TABLES = (
    "bulk_delete_jobs_emails",
    "bulk_delete_jobs_generic_files",
    "bulk_delete_jobs_institutions",
    "bulk_delete_jobs_intellectual_objects",
    "emails_generic_files",
    "emails_intellectual_objects",
    "emails_premis_events",
    "emails_work_items",
)
LEGACY_PHAROS_TABLES = (
    "bulk_delete_jobs",
    "confirmation_tokens",
    "emails",
    "old_passwords",
    "snapshots",
    "usage_samples",
    *LEGACY_PHAROS_JOIN_TABLES,
)


def registry_ddl() -> str:
    """The one DDL of the registry tables the DAGs use (idempotent; production applies it as a migration)."""
    return "\n".join(path.read_text() for path in REGISTRY_DDL_PATHS)


class RegistryBuilder:
    """Inserts registry rows on an autocommit psycopg connection; every method returns the new id."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def _insert(self, statement: str, parameters: dict[str, Any]) -> int:
        return self.connection.execute(statement, parameters).fetchone()[0]

    def apply_schema(self) -> None:
        self.connection.execute(registry_ddl())

    def truncate(self) -> None:
        self.connection.execute(
            "TRUNCATE dag_deletion_requests, deletion_requests, spot_test_restores, work_items, generic_files, "
            "intellectual_objects, users, institutions, legacy_pharos_records, legacy_pharos_exports RESTART IDENTITY CASCADE"
        )
        self.connection.execute(
            "TRUNCATE " + ", ".join(f"{LEGACY_SCHEMA}.{table}" for table in LEGACY_PHAROS_TABLES) + " RESTART IDENTITY"
        )

    def institution(self, identifier: str, spot_restore_frequency: int = 30, state: str = "A") -> int:
        return self._insert(
            "INSERT INTO institutions (name, identifier, spot_restore_frequency, state, receiving_bucket) "
            "VALUES (%(name)s, %(identifier)s, %(frequency)s, %(state)s, %(receiving_bucket)s) RETURNING id",
            {
                "name": identifier.split(".")[0].title() + " University",
                "identifier": identifier,
                "frequency": spot_restore_frequency,
                "state": state,
                "receiving_bucket": f"aptrust.receiving.{identifier}",
            },
        )

    def user(self, institution_id: int, email: str, role: str = "institutional_admin", active: bool = True) -> int:
        return self._insert(
            "INSERT INTO users (name, email, institution_id, role, deactivated_at) "
            "VALUES (%(email)s, %(email)s, %(institution_id)s, %(role)s, %(deactivated_at)s) RETURNING id",
            {
                "email": email,
                "institution_id": institution_id,
                "role": role,
                "deactivated_at": None if active else datetime.now(UTC),
            },
        )

    def intellectual_object(
        self,
        institution_id: int,
        identifier: str,
        *,
        file_sizes: tuple[int | None, ...] = (1024,),
        storage_option: str = "Standard",
        state: str = "A",
        ingested: bool = True,
        etag: str | None = None,
    ) -> int:
        """An object with one file per size, and (``ingested``) its successful Ingest WorkItem."""
        object_id = self._insert(
            "INSERT INTO intellectual_objects (identifier, bag_name, institution_id, state, storage_option, etag) "
            "VALUES (%(identifier)s, %(bag)s, %(institution_id)s, %(state)s, %(storage_option)s, %(etag)s) RETURNING id",
            {
                "identifier": identifier,
                "bag": identifier.split("/", 1)[1],
                "institution_id": institution_id,
                "state": state,
                "storage_option": storage_option,
                "etag": etag,
            },
        )
        for number, size in enumerate(file_sizes):
            self.generic_file(object_id, institution_id, f"{identifier}/data/file-{number}.txt", size, state)
        if ingested:
            self.work_item(
                institution_id,
                object_id,
                "Ingest",
                "Success",
                name=identifier.split("/", 1)[1] + ".tar",
                date_processed=datetime.now(UTC) - timedelta(days=400),
            )
        return object_id

    def generic_file(
        self, object_id: int, institution_id: int, identifier: str, size: int | None, state: str = "A"
    ) -> int:
        return self._insert(
            "INSERT INTO generic_files (identifier, intellectual_object_id, institution_id, size, state) "
            "VALUES (%(identifier)s, %(object_id)s, %(institution_id)s, %(size)s, %(state)s) RETURNING id",
            {
                "identifier": identifier,
                "object_id": object_id,
                "institution_id": institution_id,
                "size": size,
                "state": state,
            },
        )

    def work_item(
        self,
        institution_id: int,
        object_id: int | None,
        action: str,
        status: str,
        *,
        generic_file_id: int | None = None,
        name: str = "bag.tar",
        user: str = "someone@example.edu",
        note: str | None = None,
        date_processed: datetime | None = None,
    ) -> int:
        return self._insert(
            "INSERT INTO work_items (name, etag, institution_id, intellectual_object_id, generic_file_id, bucket, "
            '"user", note, action, stage, status, bag_date, date_processed) '
            "VALUES (%(name)s, %(etag)s, %(institution_id)s, %(object_id)s, %(file_id)s, %(bucket)s, %(user)s, "
            "%(note)s, %(action)s, %(stage)s, %(status)s, %(bag_date)s, %(date_processed)s) RETURNING id",
            {
                "name": name,
                "etag": f"etag-{name}",
                "institution_id": institution_id,
                "object_id": object_id,
                "file_id": generic_file_id,
                "bucket": "aptrust.receiving.demo",
                "user": user,
                "note": note,
                "action": action,
                "stage": "Cleanup" if status == "Success" else "Requested",
                "status": status,
                "bag_date": datetime(2024, 5, 1, tzinfo=UTC),
                "date_processed": date_processed or datetime.now(UTC),
            },
        )

    def premis_event(
        self,
        institution_id: int,
        object_id: int | None,
        *,
        outcome: str = "Failed",
        date_time: datetime | None = None,
        event_type: str = "fixity check",
        generic_file_id: int | None = None,
    ) -> int:
        """A PREMIS event (by default a failed fixity check, now) with a unique identifier."""
        return self._insert(
            "INSERT INTO premis_events (identifier, event_type, date_time, outcome, outcome_information, "
            "institution_id, intellectual_object_id, generic_file_id) "
            "VALUES (gen_random_uuid()::text, %(event_type)s, %(date_time)s, %(outcome)s, %(information)s, "
            "%(institution_id)s, %(object_id)s, %(file_id)s) RETURNING id",
            {
                "event_type": event_type,
                "date_time": date_time or datetime.now(UTC),
                "outcome": outcome,
                "information": f"{event_type}: {outcome}",
                "institution_id": institution_id,
                "object_id": object_id,
                "file_id": generic_file_id,
            },
        )

    # -- legacy Pharos tables (schema LEGACY_SCHEMA): rows as Pharos left them ------------

    def _legacy_insert(self, table: str, values: dict[str, Any]) -> int | None:
        """One row of a legacy table; its id (None for a join table, which has none)."""
        columns = ", ".join(values)
        placeholders = ", ".join(f"%({column})s" for column in values)
        returning = "" if table in LEGACY_PHAROS_JOIN_TABLES else " RETURNING id"
        cursor = self.connection.execute(
            f"INSERT INTO {LEGACY_SCHEMA}.{table} ({columns}) VALUES ({placeholders}){returning}", values
        )
        return None if table in LEGACY_PHAROS_JOIN_TABLES else cursor.fetchone()[0]

    def legacy_join(self, table: str, **ids: int) -> None:
        """A join row, e.g. ``legacy_join("emails_work_items", work_item_id=7, email_id=2)``.
        Pharos's join tables have no key: the same pair twice is two rows."""
        assert table in LEGACY_PHAROS_JOIN_TABLES, table
        self._legacy_insert(table, ids)

    def legacy_email(
        self,
        email_type: str,
        user_list: str,
        email_text: str,
        created_at: datetime,
        *,
        institution_id: int | None = None,
        intellectual_object_id: int | None = None,
        generic_file_id: int | None = None,
        item_id: int | None = None,
        event_identifier: str | None = None,
        work_item_ids: tuple[int, ...] = (),
        premis_event_ids: tuple[int, ...] = (),
        object_ids: tuple[int, ...] = (),
        file_ids: tuple[int, ...] = (),
    ) -> int:
        """A Pharos ``emails`` row (naive UTC timestamps) and its rows in the four ``emails_*`` join tables."""
        email_id = self._legacy_insert(
            "emails",
            {
                "email_type": email_type,
                "event_identifier": event_identifier,
                "item_id": item_id,
                "email_text": email_text,
                "user_list": user_list,
                "created_at": created_at,
                "updated_at": created_at,
                "intellectual_object_id": intellectual_object_id,
                "generic_file_id": generic_file_id,
                "institution_id": institution_id,
            },
        )
        for work_item_id in work_item_ids:
            self.legacy_join("emails_work_items", work_item_id=work_item_id, email_id=email_id)
        for premis_event_id in premis_event_ids:
            self.legacy_join("emails_premis_events", premis_event_id=premis_event_id, email_id=email_id)
        for object_id in object_ids:
            self.legacy_join("emails_intellectual_objects", intellectual_object_id=object_id, email_id=email_id)
        for file_id in file_ids:
            self.legacy_join("emails_generic_files", generic_file_id=file_id, email_id=email_id)
        return email_id

    def legacy_bulk_delete_job(
        self,
        institution_id: int,
        requested_by: str,
        created_at: datetime,
        *,
        institutional_approver: str | None = None,
        institutional_approval_at: datetime | None = None,
        aptrust_approver: str | None = None,
        aptrust_approval_at: datetime | None = None,
        note: str | None = None,
        object_ids: tuple[int, ...] = (),
        file_ids: tuple[int, ...] = (),
        institution_ids: tuple[int, ...] | None = None,
        email_ids: tuple[int, ...] = (),
    ) -> int:
        """A Pharos ``bulk_delete_jobs`` row and its rows in the four ``bulk_delete_jobs_*`` join
        tables (``institution_ids`` defaults to the job's own institution, as Pharos wrote it)."""
        job_id = self._legacy_insert(
            "bulk_delete_jobs",
            {
                "requested_by": requested_by,
                "institutional_approver": institutional_approver,
                "aptrust_approver": aptrust_approver,
                "institutional_approval_at": institutional_approval_at,
                "aptrust_approval_at": aptrust_approval_at,
                "note": note,
                "created_at": created_at,
                "updated_at": aptrust_approval_at or institutional_approval_at or created_at,
                "institution_id": institution_id,
            },
        )
        for object_id in object_ids:
            self.legacy_join(
                "bulk_delete_jobs_intellectual_objects", bulk_delete_job_id=job_id, intellectual_object_id=object_id
            )
        for file_id in file_ids:
            self.legacy_join("bulk_delete_jobs_generic_files", bulk_delete_job_id=job_id, generic_file_id=file_id)
        for linked_institution in (institution_id,) if institution_ids is None else institution_ids:
            self.legacy_join(
                "bulk_delete_jobs_institutions", bulk_delete_job_id=job_id, institution_id=linked_institution
            )
        for email_id in email_ids:
            self.legacy_join("bulk_delete_jobs_emails", bulk_delete_job_id=job_id, email_id=email_id)
        return job_id

    def legacy_confirmation_token(
        self,
        token: str,
        *,
        institution_id: int | None = None,
        intellectual_object_id: int | None = None,
        generic_file_id: int | None = None,
        user_id: int | None = None,
    ) -> int:
        return self._legacy_insert(
            "confirmation_tokens",
            {
                "token": token,
                "intellectual_object_id": intellectual_object_id,
                "generic_file_id": generic_file_id,
                "institution_id": institution_id,
                "user_id": user_id,
            },
        )

    def legacy_old_password(
        self, user_id: int, encrypted_password: str, created_at: datetime, password_salt: str | None = None
    ) -> int:
        """A password-history row of a registry user (Pharos's polymorphic ``User`` archivable)."""
        return self._legacy_insert(
            "old_passwords",
            {
                "encrypted_password": encrypted_password,
                "password_salt": password_salt,
                "password_archivable_type": "User",  # pragma: allowlist secret (a column name)
                "password_archivable_id": user_id,
                "created_at": created_at,
            },
        )

    def legacy_snapshot(
        self,
        institution_id: int,
        audit_date: datetime,
        *,
        apt_bytes: int,
        cs_bytes: int,
        go_bytes: int,
        cost: str,
        snapshot_type: str = "Individual",
    ) -> int:
        """A Pharos storage snapshot (``cost`` a decimal string: the column is ``numeric``)."""
        return self._legacy_insert(
            "snapshots",
            {
                "audit_date": audit_date,
                "institution_id": institution_id,
                "apt_bytes": apt_bytes,
                "cost": cost,
                "created_at": audit_date,
                "updated_at": audit_date,
                "snapshot_type": snapshot_type,
                "cs_bytes": cs_bytes,
                "go_bytes": go_bytes,
            },
        )

    def legacy_usage_sample(self, institution_id: str, data: str, created_at: datetime) -> int:
        """A Pharos usage sample: ``institution_id`` is text there, ``data`` YAML text."""
        return self._legacy_insert(
            "usage_samples",
            {"created_at": created_at, "updated_at": created_at, "institution_id": institution_id, "data": data},
        )


def seed_registry(builder: RegistryBuilder) -> None:
    demo = builder.institution(DEMO_INSTITUTION, spot_restore_frequency=30)
    glacier = builder.institution("glacier.edu", spot_restore_frequency=90)
    builder.institution("optout.edu", spot_restore_frequency=0)
    builder.user(demo, "admin@demo.edu")
    builder.user(demo, DEMO_APPROVER)
    builder.user(demo, DEMO_REQUESTER, role="institutional_user")
    builder.user(glacier, "admin@glacier.edu")
    for n in range(20):
        builder.intellectual_object(demo, f"{DEMO_INSTITUTION}/bag-{n}", file_sizes=(10_000 * (n + 1), 2_048))
        builder.intellectual_object(glacier, f"glacier.edu/bag-{n}", storage_option="Glacier-Deep-OR")
    for n in range(3):
        builder.intellectual_object(demo, f"{DEMO_INSTITUTION}/old-bag-{n}")
    builder.intellectual_object(demo, f"{DEMO_INSTITUTION}/cold-bag", storage_option="Glacier-OR")
    mixed = builder.intellectual_object(demo, f"{DEMO_INSTITUTION}/mixed-bag", file_sizes=())
    builder.generic_file(mixed, demo, f"{DEMO_INSTITUTION}/mixed-bag/data/obsolete.txt", 512)
    restored = builder.intellectual_object(demo, f"{DEMO_INSTITUTION}/restored-bag")
    builder.work_item(
        demo,
        restored,
        "Restore Object",
        "Success",
        user=DEMO_REQUESTER,
        note="Bag restored to https://s3.amazonaws.com/aptrust.restore.demo.edu/restored-bag.tar",
    )
    seed_alerts(builder, demo)
    seed_legacy_pharos(builder)


def seed_alerts(builder: RegistryBuilder, demo: int) -> None:
    """One of each aptrust_alerts alert: a failed fixity check yesterday (UTC, the day a run
    today covers) and an ingest stalled for a day, on an object no other demo touches; APTrust's
    own staff receive the summaries."""
    aptrust = builder.institution("aptrust.org", spot_restore_frequency=0)
    builder.user(aptrust, "ops@aptrust.org", role="admin")
    builder.user(aptrust, "system@aptrust.org", role="admin")
    damaged = builder.intellectual_object(demo, f"{DEMO_INSTITUTION}/damaged-bag")
    yesterday = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), datetime.min.time(), UTC)
    builder.premis_event(demo, damaged, date_time=yesterday + timedelta(hours=12))
    stuck = builder.work_item(demo, damaged, "Ingest", "Started", name="damaged-bag.tar")
    builder.connection.execute("UPDATE work_items SET queued_at = now() - interval '1 day' WHERE id = %s", (stuck,))


def _demo_token(number: int) -> str:
    """An obviously fake Pharos confirmation token: 32 hex digits (the real ones are 128 random bits)."""
    return f"{number:032x}"


def _demo_password_hash(number: int) -> str:
    """An obviously fake bcrypt-shaped password hash (never a real one)."""
    return f"$2a$10$FAKE.DEMO.HASH.NOT.A.PASSWORD.{number:024d}"


def seed_legacy_pharos(builder: RegistryBuilder) -> None:
    """What Pharos left in the 14 legacy tables, on the demo's rows (written last, so no other
    row's id changes; no registry row is added): two bulk deletion jobs with their objects,
    files, institutions and mails, the mails Pharos's cron sent (fixity, restorations, deletion
    requests with their confirmation tokens), password history, storage snapshots and usage
    samples. Every join row points at an existing row; one job's institution link is doubled
    as Pharos sometimes wrote it. Timestamps are naive UTC, as Rails stored them."""

    def one(statement: str, value: str) -> int:
        return builder.connection.execute(statement, (value,)).fetchone()[0]

    def object_id(identifier: str) -> int:
        return one("SELECT id FROM intellectual_objects WHERE identifier = %s", identifier)

    def file_id(identifier: str) -> int:
        return one("SELECT id FROM generic_files WHERE identifier = %s", identifier)

    def user_id(email: str) -> int:
        return one("SELECT id FROM users WHERE email = %s", email)

    demo = one("SELECT id FROM institutions WHERE identifier = %s", DEMO_INSTITUTION)
    glacier = one("SELECT id FROM institutions WHERE identifier = %s", "glacier.edu")
    aptrust = one("SELECT id FROM institutions WHERE identifier = %s", "aptrust.org")
    damaged = object_id(f"{DEMO_INSTITUTION}/damaged-bag")
    restored = object_id(f"{DEMO_INSTITUTION}/restored-bag")
    fixity_event_id, fixity_event = builder.connection.execute(
        "SELECT id, identifier FROM premis_events WHERE intellectual_object_id = %s ORDER BY id LIMIT 1", (damaged,)
    ).fetchone()
    restore_ids = [
        row[0]
        for row in builder.connection.execute(
            "SELECT id FROM work_items WHERE intellectual_object_id = %s ORDER BY id", (restored,)
        ).fetchall()
    ]  # its Ingest, then its Restore Object
    old_bags = [object_id(f"{DEMO_INSTITUTION}/old-bag-{n}") for n in range(2)]
    obsolete = file_id(f"{DEMO_INSTITUTION}/mixed-bag/data/obsolete.txt")
    glacier_bags = [object_id(f"glacier.edu/bag-{n}") for n in (18, 19)]
    glacier_file = file_id("glacier.edu/bag-17/data/file-0.txt")
    registry = "https://repo.aptrust.org"

    builder.legacy_email(
        "fixity",
        "admin@demo.edu; approver@demo.edu",
        f"A fixity check failed for {DEMO_INSTITUTION}/damaged-bag/data/file-0.txt.\n"
        f"See {registry}/events/{fixity_event}",
        datetime(2021, 3, 2, 4, 10),
        institution_id=demo,
        intellectual_object_id=damaged,
        generic_file_id=file_id(f"{DEMO_INSTITUTION}/damaged-bag/data/file-0.txt"),
        item_id=fixity_event_id,
        event_identifier=fixity_event,
        premis_event_ids=(fixity_event_id,),
    )
    builder.legacy_email(
        "restoration",
        "depositor@demo.edu;admin@demo.edu",
        f"{DEMO_INSTITUTION}/restored-bag was restored to "
        "https://s3.amazonaws.com/aptrust.restore.demo.edu/restored-bag.tar",
        datetime(2021, 6, 14, 15, 30),
        institution_id=demo,
        intellectual_object_id=restored,
        item_id=restore_ids[-1],
        work_item_ids=(restore_ids[-1],),
    )
    builder.legacy_email(
        "multiple_restoration",
        '["depositor@demo.edu", "admin@demo.edu"]',
        "Restorations completed:\n" + "\n".join(f"{registry}/work_items/{i}" for i in restore_ids),
        datetime(2021, 6, 15, 15, 30),
        institution_id=demo,
        work_item_ids=tuple(restore_ids),
    )
    tokens = {n: _demo_token(n) for n in (1, 2, 3)}
    builder.legacy_email(
        "deletion_request",
        "admin@demo.edu",
        f"{DEMO_REQUESTER} asked to delete {DEMO_INSTITUTION}/old-bag-2. Confirm: "
        f"{registry}/objects/{DEMO_INSTITUTION}%2Fold-bag-2/confirm_delete?confirmation_token={tokens[1]}",
        datetime(2020, 11, 3, 9, 0),
        institution_id=demo,
        intellectual_object_id=object_id(f"{DEMO_INSTITUTION}/old-bag-2"),
        object_ids=(object_id(f"{DEMO_INSTITUTION}/old-bag-2"),),
    )
    bulk_request = builder.legacy_email(
        "bulk_deletion_request",
        "admin@demo.edu; approver@demo.edu",
        f"A bulk deletion of 3 items was requested by {DEMO_REQUESTER}. Approve: "
        f"{registry}/bulk_delete/1/approve?confirmation_token={tokens[2]}",
        datetime(2022, 1, 10, 14, 0),
        institution_id=demo,
        object_ids=tuple(old_bags),
        file_ids=(obsolete,),
    )
    bulk_partial = builder.legacy_email(
        "bulk_deletion_confirmation_partial",
        '["ops@aptrust.org"]',
        f"approver@demo.edu approved bulk deletion job 1. Final approval: "
        f"{registry}/bulk_delete/1/final?confirmation_token={tokens[3]}",
        datetime(2022, 1, 11, 8, 45),
        institution_id=demo,
        object_ids=tuple(old_bags),
        file_ids=(obsolete,),
    )
    glacier_request = builder.legacy_email(
        "bulk_deletion_request",
        "admin@glacier.edu",
        "A bulk deletion of 3 items was requested by admin@glacier.edu (cancelled by the depositor).",
        datetime(2019, 9, 23, 17, 5),
        institution_id=glacier,
    )
    builder.legacy_bulk_delete_job(
        demo,
        DEMO_REQUESTER,
        datetime(2022, 1, 10, 14, 0),
        institutional_approver=DEMO_APPROVER,
        institutional_approval_at=datetime(2022, 1, 11, 8, 44),
        note="Superseded drafts; APTrust's final approval never came",
        object_ids=tuple(old_bags),
        file_ids=(obsolete,),
        institution_ids=(demo, demo),
        email_ids=(bulk_request, bulk_partial),
    )
    builder.legacy_bulk_delete_job(
        glacier,
        "admin@glacier.edu",
        datetime(2019, 9, 23, 17, 5),
        note="Cancelled by the depositor",
        object_ids=tuple(glacier_bags),
        file_ids=(glacier_file,),
        email_ids=(glacier_request,),
    )
    builder.legacy_confirmation_token(
        tokens[1],
        institution_id=demo,
        intellectual_object_id=object_id(f"{DEMO_INSTITUTION}/old-bag-2"),
        user_id=user_id("admin@demo.edu"),
    )
    builder.legacy_confirmation_token(tokens[2], institution_id=demo, user_id=user_id(DEMO_APPROVER))
    builder.legacy_confirmation_token(tokens[3], institution_id=demo, generic_file_id=obsolete)
    for number, (email, when) in enumerate(
        [
            ("admin@demo.edu", datetime(2019, 2, 1, 12, 0)),
            ("admin@demo.edu", datetime(2020, 2, 3, 12, 0)),
            (DEMO_APPROVER, datetime(2020, 7, 19, 8, 30)),
            ("admin@glacier.edu", datetime(2021, 4, 5, 16, 20)),
        ]
    ):
        salt = f"fake-salt-{number}" if number == 0 else None  # Pharos's early rows carried a salt
        builder.legacy_old_password(user_id(email), _demo_password_hash(number), when, password_salt=salt)
    for month in (1, 2):
        audit = datetime(2022, month, 1, 5, 0)
        builder.legacy_snapshot(
            demo, audit, apt_bytes=4_200_000_000 * month, cs_bytes=0, go_bytes=120_000_000, cost=f"{12.34 * month:.2f}"
        )
        builder.legacy_snapshot(
            glacier, audit, apt_bytes=0, cs_bytes=0, go_bytes=9_800_000_000 * month, cost=f"{3.5 * month:.2f}"
        )
        builder.legacy_snapshot(
            aptrust,
            audit,
            apt_bytes=4_200_000_000 * month,
            cs_bytes=0,
            go_bytes=9_920_000_000 * month,
            cost=f"{15.84 * month:.2f}",
            snapshot_type="Subtotal",
        )
    for identifier, data, when in [
        (str(demo), "---\nall: 4200000000\napplication/pdf: 3900000000\ntext/plain: 300000000\n", 2020),
        (str(demo), "---\nall: 8400000000\napplication/pdf: 7800000000\ntext/plain: 600000000\n", 2021),
        (str(glacier), "---\nall: 9800000000\nimage/tiff: 9800000000\n", 2021),
        (str(aptrust), "---\nall: 18200000000\n", 2021),
    ]:
        builder.legacy_usage_sample(identifier, data, datetime(when, 12, 31, 23, 0))


def seed(stack: Devstack) -> dict[str, dict[str, Any]]:
    import psycopg

    with psycopg.connect(stack["postgres"].url("aptrust_registry"), autocommit=True) as connection:
        builder = RegistryBuilder(connection)
        builder.apply_schema()
        builder.truncate()
        seed_registry(builder)
    if stack.workdir.name == "demo":
        _answer_demo_approval(stack)
    return {
        "aptrust_bulk_delete": {
            "institution": DEMO_INSTITUTION,
            "requester": DEMO_REQUESTER,
            "identifiers": DEMO_DELETIONS,
        },
        "aptrust_restore_request": {"requester": DEMO_REQUESTER, "identifiers": DEMO_RESTORATIONS},
    }


# -- `make demo` only: a second person approves the demo deletion -----------------------

APPROVAL_WAIT_SECONDS = 900


def _answer_demo_approval(stack: Devstack) -> None:
    """Start a helper that approves the demo bulk deletion as DEMO_APPROVER, then exits.

    It dies with the demo (parent-death signal) and gives up after APPROVAL_WAIT_SECONDS.
    """
    from devstack.airflow import airflow_environment
    from devstack.process import ManagedProcess

    env = airflow_environment(stack, stack.workdir / "airflow", api_port=0)
    ManagedProcess(
        "aptrust-demo-approver",
        [sys.executable, "-m", "devstack.demo_seed_aptrust", "approve"],
        stack.workdir / "aptrust-demo-approver.log",
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        die_with_parent=True,
    ).start()


def approve_pending(dag_id: str, task_id: str, user_id: str, chosen: str = "Approve") -> bool:
    """Answer a waiting human-in-the-loop task of ``dag_id`` as ``user_id``, the way the
    Required Actions UI does (the REST API's handler, called in-process). Returns whether
    one was answered."""
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    class Respondent:
        def get_id(self) -> str:
            return user_id

        def get_name(self) -> str:
            return user_id

    with create_session() as session:
        waiting = (
            session.query(TaskInstance)
            .filter(
                TaskInstance.dag_id == dag_id,
                TaskInstance.task_id == task_id,
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
            )
            .first()
        )
        if waiting is None:
            return False
        update_hitl_detail(
            dag_id=dag_id,
            dag_run_id=waiting.run_id,
            task_id=task_id,
            update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[chosen], params_input={}),
            user=Respondent(),
            session=session,
            map_index=waiting.map_index,
        )
    return True


def _approve_loop() -> int:
    deadline = time.monotonic() + APPROVAL_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            if approve_pending("aptrust_bulk_delete", "approve_deletion", DEMO_APPROVER):
                print(f"approved the demo bulk deletion as {DEMO_APPROVER}", flush=True)
                return 0
        except Exception as error:  # noqa: BLE001 - the metadata DB may not have the tables yet
            print(f"waiting: {error}", flush=True)
        time.sleep(1)
    return 1


if __name__ == "__main__":
    if sys.argv[1:] == ["approve"]:
        sys.exit(_approve_loop())
