"""APTrust demo: a small registry (institutions, admins, objects, WorkItems) on the devstack's PostgreSQL.

``RegistryBuilder`` writes registry rows the way the registry would; the tests use it
too. ``seed()`` creates the tables (the one DDL, ``include/aptrust/registry.sql``),
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

REGISTRY_DDL_PATH = REPO_ROOT / "include" / "aptrust" / "registry.sql"
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


def registry_ddl() -> str:
    """The one DDL of the registry tables the DAGs use (idempotent; production applies it as a migration)."""
    return REGISTRY_DDL_PATH.read_text()


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
            "TRUNCATE bulk_delete_job_items, bulk_delete_jobs, spot_test_restores, work_items, emails, generic_files, "
            "intellectual_objects, users, institutions RESTART IDENTITY CASCADE"
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
