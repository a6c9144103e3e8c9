"""The migration off the DAGs' former emails/bulk_delete_jobs tables, on the real PostgreSQL: a former
deployment's rows become alerts and deletion requests, the former tables go, Pharos's never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from devstack.settings import REPO_ROOT
from tests.include.aptrust.fixtures import mailbox, registry, rows  # noqa: F401 - fixtures

MIGRATION = REPO_ROOT / "include" / "aptrust" / "migrations" / "2026_12_dag_mail_to_alerts.sql"
SENT_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

# The DAGs' own tables as registry.sql created them before issue #14 (what a deployment still has).
FORMER_DDL = """
CREATE TABLE emails (
    id bigserial PRIMARY KEY,
    email_type text NOT NULL CHECK (email_type IN ('restore_digest', 'deletion_confirmation')),
    institution_id bigint NOT NULL REFERENCES institutions (id),
    message_id text NOT NULL UNIQUE, recipients text[] NOT NULL, subject text NOT NULL, body text NOT NULL,
    work_item_ids bigint[] NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz, refused_recipients text[] NOT NULL DEFAULT '{}', error text
);
ALTER TABLE work_items ADD COLUMN notification_email_id bigint REFERENCES emails (id);
CREATE INDEX work_items_restores_to_notify ON work_items (institution_id, id)
    WHERE status = 'Success' AND notification_email_id IS NULL;
CREATE TABLE bulk_delete_jobs (
    id bigserial PRIMARY KEY, request_key text NOT NULL UNIQUE,
    institution_id bigint NOT NULL REFERENCES institutions (id), requested_by text NOT NULL,
    approved_by text NOT NULL, confirmation_email_id bigint REFERENCES emails (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bulk_delete_job_items (
    job_id bigint NOT NULL REFERENCES bulk_delete_jobs (id), identifier text NOT NULL,
    work_item_id bigint NOT NULL UNIQUE REFERENCES work_items (id), PRIMARY KEY (job_id, identifier)
);
"""


def _migrate(registry):  # noqa: F811
    registry.connection.execute(MIGRATION.read_text())


def _public_tables(registry):  # noqa: F811
    return {
        r["table_name"]
        for r in rows(registry, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    }


@pytest.fixture
def former(registry):  # noqa: F811
    """The registry with the DAGs' former tables, removed again whatever the test did."""
    registry.connection.execute(FORMER_DDL)
    yield registry
    registry.connection.execute(
        "DROP TABLE IF EXISTS bulk_delete_job_items, bulk_delete_jobs CASCADE; "
        "ALTER TABLE work_items DROP COLUMN IF EXISTS notification_email_id; DROP TABLE IF EXISTS emails CASCADE"
    )


def _email(registry, inst, email_type, recipients, work_item_ids, **columns):  # noqa: F811
    values = {"refused_recipients": [], "sent_at": None, "error": None, **columns}
    email_id = registry.connection.execute(
        "INSERT INTO emails (email_type, institution_id, message_id, recipients, subject, body, work_item_ids, "
        "sent_at, refused_recipients, error) VALUES (%s, %s, %s, %s, %s, 'text', %s, %s, %s, %s) RETURNING id",
        (email_type, inst, f"<{email_type}.{len(work_item_ids)}.{values['subject']}@x>", recipients,
         values["subject"], work_item_ids, values["sent_at"], values["refused_recipients"], values["error"]),
    ).fetchone()[0]  # fmt: skip
    registry.connection.execute(
        "UPDATE work_items SET notification_email_id = %s WHERE id = ANY(%s) AND action <> 'Delete'",
        (email_id, work_item_ids),
    )
    return email_id


def test_a_former_deployments_mail_and_jobs_become_alerts_and_deletion_requests(former, mailbox):
    registry = former
    inst = registry.institution("one.edu")
    admin = registry.user(inst, "admin@one.edu")
    ann = registry.user(inst, "ann@one.edu", role="institutional_user")
    bag = registry.intellectual_object(inst, "one.edu/bag")
    restores = [registry.work_item(inst, bag, "Restore Object", "Success", user="ann@one.edu") for _ in range(3)]
    _email(registry, inst, "restore_digest", ["admin@one.edu", "ann@one.edu"], restores[:1],
                  subject="sent", sent_at=SENT_AT, refused_recipients=["admin@one.edu"])  # fmt: skip
    _email(registry, inst, "restore_digest", ["Ann@One.edu", "gone@else.edu"], restores[1:2], subject="unsent")
    _email(registry, inst, "restore_digest", ["admin@one.edu"], restores[2:], subject="failed", error="550")
    doomed = registry.intellectual_object(inst, "one.edu/doomed", file_sizes=(1, 2))
    [file_id] = [r["id"] for r in rows(registry, "SELECT id FROM generic_files WHERE intellectual_object_id = %(o)s "
                                       "ORDER BY id LIMIT 1", {"o": doomed})]  # fmt: skip
    deletes = [
        registry.work_item(inst, doomed, "Delete", "Pending", user="ann@one.edu"),
        registry.work_item(inst, doomed, "Delete", "Pending", user="ann@one.edu", generic_file_id=file_id),
    ]
    confirmation = _email(registry, inst, "deletion_confirmation", ["ann@one.edu", "admin@one.edu"], deletes,
                          subject="deleted", sent_at=SENT_AT)  # fmt: skip
    job = registry.connection.execute(
        "INSERT INTO bulk_delete_jobs (request_key, institution_id, requested_by, approved_by, confirmation_email_id, "
        "created_at) VALUES ('aptrust_bulk_delete/manual__old', %s, 'Ann@one.edu', 'admin@one.edu', %s, %s) "
        "RETURNING id",
        (inst, confirmation, SENT_AT - timedelta(hours=1)),
    ).fetchone()[0]
    for identifier, work_item_id in zip(("one.edu/doomed", "one.edu/doomed/data/file-0.txt"), deletes, strict=True):
        registry.connection.execute(
            "INSERT INTO bulk_delete_job_items VALUES (%s, %s, %s)", (job, identifier, work_item_id)
        )

    _migrate(registry)
    _migrate(registry)  # idempotent

    assert not {"emails", "bulk_delete_jobs", "bulk_delete_job_items"} & _public_tables(registry)
    assert rows(registry, "SELECT column_name FROM information_schema.columns WHERE table_name = 'work_items' "
                "AND column_name = 'notification_email_id'") == []  # fmt: skip
    alerts = rows(
        registry,
        "SELECT a.subject, a.type, a.deletion_request_id, d.dag_id, d.dag_run_id, "
        "ARRAY(SELECT work_item_id FROM alerts_work_items WHERE alert_id = a.id ORDER BY 1) AS work_items, "
        "ARRAY(SELECT user_id || ':' || (sent_at IS NOT NULL) FROM alerts_users WHERE alert_id = a.id ORDER BY 1) "
        "  AS recipients, "
        "ARRAY(SELECT user_id || ':' || error FROM dag_alert_delivery_errors WHERE alert_id = a.id ORDER BY 1) "
        "  AS errors "
        "FROM alerts a JOIN dag_alerts d ON d.alert_id = a.id ORDER BY a.id",
    )
    by_subject = {a["subject"]: a for a in alerts}
    assert [a["subject"] for a in alerts] == ["sent", "unsent", "failed", "deleted"]
    assert by_subject["sent"]["recipients"] == sorted([f"{admin}:false", f"{ann}:true"])
    assert by_subject["sent"]["errors"] == [f"{admin}:refused by the SMTP server (before the migration)"]
    assert by_subject["unsent"]["recipients"] == [f"{ann}:false"] and by_subject["unsent"]["errors"] == []
    assert by_subject["failed"]["errors"] == [f"{admin}:550"]
    assert [by_subject[s]["work_items"] for s in ("sent", "unsent", "failed")] == [[r] for r in restores]
    deleted = by_subject["deleted"]
    assert (deleted["type"], deleted["dag_id"], deleted["dag_run_id"]) == (
        "Deletion Confirmed", "aptrust_bulk_delete", "manual__old",
    )  # fmt: skip
    assert deleted["work_items"] == deletes and deleted["recipients"] == sorted([f"{admin}:true", f"{ann}:true"])
    [request] = rows(
        registry,
        "SELECT r.*, d.request_key, "
        "ARRAY(SELECT intellectual_object_id FROM deletion_requests_intellectual_objects "
        "      WHERE deletion_request_id = r.id) AS objects, "
        "ARRAY(SELECT generic_file_id FROM deletion_requests_generic_files WHERE deletion_request_id = r.id) AS files "
        "FROM deletion_requests r JOIN dag_deletion_requests d ON d.deletion_request_id = r.id",
    )
    assert (request["requested_by_id"], request["confirmed_by_id"], request["cancelled_at"]) == (ann, admin, None)
    assert (
        request["request_key"] == "aptrust_bulk_delete/manual__old" and deleted["deletion_request_id"] == request["id"]
    )
    assert (request["objects"], request["files"]) == ([doomed], [file_id])
    assert {r["deletion_request_id"] for r in rows(registry, "SELECT deletion_request_id FROM work_items "
                                                   "WHERE action = 'Delete'")} == {request["id"]}  # fmt: skip

    # the new DAG code goes on from there: nothing notified again, the unsent digest sent (once)
    from preservation_pipelines.aptrust.operators.alerts import SendAlertsOperator
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator

    context = {"dag": SimpleNamespace(dag_id="aptrust_restore_notifications"), "run_id": "manual__after"}
    assert RecordRestoreDigestsOperator(task_id="record").execute(context)["alerts"] == {}
    assert SendAlertsOperator(task_id="send", scope="dag").execute(context) == {"sent": 1, "delivery_errors": {}}
    assert [m["rcpt_tos"] for m in mailbox.messages()] == [["ann@one.edu"]]


def test_pharos_tables_of_the_same_names_and_a_database_without_former_tables_are_left_alone(registry):  # noqa: F811
    from devstack.demo_seed_aptrust import LEGACY_SCHEMA

    registry.connection.execute(
        f"CREATE TABLE public.emails (LIKE {LEGACY_SCHEMA}.emails INCLUDING ALL); "
        f"CREATE TABLE public.bulk_delete_jobs (LIKE {LEGACY_SCHEMA}.bulk_delete_jobs INCLUDING ALL)"
    )
    try:
        registry.connection.execute(
            "INSERT INTO public.emails (email_type, created_at, updated_at) VALUES ('fixity', now(), now())"
        )
        before = rows(registry, "SELECT count(*) AS n FROM alerts")

        _migrate(registry)

        assert {"emails", "bulk_delete_jobs"} <= _public_tables(registry)
        assert rows(registry, "SELECT count(*) AS n FROM public.emails") == [{"n": 1}]
        assert rows(registry, "SELECT count(*) AS n FROM alerts") == before
    finally:
        registry.connection.execute("DROP TABLE IF EXISTS public.emails, public.bulk_delete_jobs")
