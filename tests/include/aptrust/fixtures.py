"""Fixtures of the APTrust tests (import them into a test module): a clean registry on the
real PostgreSQL, the real broker's topics read back, a producer connection that gives up
fast, the SMTP sink's mailbox emptied."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from devstack.demo_seed_aptrust import LEGACY_SCHEMA, RegistryBuilder, seed_registry


@pytest.fixture
def registry(postgres):
    """The registry tables, created by the one DDL and emptied; a RegistryBuilder on them."""
    import psycopg

    with psycopg.connect(postgres.url("aptrust_registry"), autocommit=True) as connection:
        builder = RegistryBuilder(connection)
        builder.apply_schema()
        builder.truncate()
        yield builder


def rows(registry: RegistryBuilder, statement: str, parameters: dict | None = None) -> list[dict]:
    cursor = registry.connection.execute(statement, parameters or {})
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def mailbox(smtp):
    """The sink's captured messages, emptied before the test; no refused recipients after it."""
    for path in list(smtp.maildir.glob("*.eml")) + list(smtp.maildir.glob("*.json")):
        path.unlink()
    yield smtp
    (smtp.maildir / "refused_recipients").unlink(missing_ok=True)


FAILURE_NOTICE = "[Airflow] "  # the subject prefix of the failure notifier's mail to aptrust_alert_to


def failure_notices(messages: list[dict]) -> list[str]:
    """The task ids named by the failure notifier's mails among ``messages``."""
    return [m["subject"].split(".", 1)[1].split(" ", 1)[0] for m in messages if m["subject"].startswith(FAILURE_NOTICE)]


def registry_mail(messages: list[dict]) -> list[dict]:
    """``messages`` without the failure notifier's: what the registry's users receive."""
    return [m for m in messages if not m["subject"].startswith(FAILURE_NOTICE)]


def topic_values(kafka, topic: str, idle_seconds: float = 2.0) -> list[str]:
    """Every message value on ``topic`` (from the beginning), as text."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 1500,
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values, idle = [], 0.0
    try:
        while idle < idle_seconds:
            message = consumer.poll(0.5)
            if message is None or message.error():
                idle += 0.5
                continue
            idle = 0.0
            values.append(message.value().decode())
    finally:
        consumer.close()
    return values


@pytest.fixture
def short_delivery_timeout(kafka, monkeypatch):
    """A copy of the producer connection with a 2 s ``message.timeout.ms``; its id."""
    connection = json.loads(os.environ["AIRFLOW_CONN_KAFKA_PRODUCER"])
    connection["extra"]["message.timeout.ms"] = 2000
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_PRODUCER_SHORT_TIMEOUT", json.dumps(connection))
    return "kafka_producer_short_timeout"


class RecordingTaskInstance:
    """The ``ti`` of an operator executed directly: keeps what it pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


# -- legacy Pharos tables (docs/aptrust.md, "Legacy Pharos tables") ------------------------

_BIGINT, _INT, _VARCHAR, _TEXT = "bigint", "integer", "character varying", "text"
_TIMESTAMP, _NUMERIC = "timestamp without time zone", "numeric"

# The spec's column set of each legacy table, in Pharos's order: (column, type, nullable).
LEGACY_PHAROS_COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "bulk_delete_jobs": [
        ("id", _BIGINT, False),
        ("requested_by", _VARCHAR, True),
        ("institutional_approver", _VARCHAR, True),
        ("aptrust_approver", _VARCHAR, True),
        ("institutional_approval_at", _TIMESTAMP, True),
        ("aptrust_approval_at", _TIMESTAMP, True),
        ("note", _TEXT, True),
        ("created_at", _TIMESTAMP, False),
        ("updated_at", _TIMESTAMP, False),
        ("institution_id", _INT, False),
    ],
    "bulk_delete_jobs_emails": [("bulk_delete_job_id", _BIGINT, True), ("email_id", _BIGINT, True)],
    "bulk_delete_jobs_generic_files": [("bulk_delete_job_id", _BIGINT, True), ("generic_file_id", _BIGINT, True)],
    "bulk_delete_jobs_institutions": [("bulk_delete_job_id", _BIGINT, True), ("institution_id", _BIGINT, True)],
    "bulk_delete_jobs_intellectual_objects": [
        ("bulk_delete_job_id", _BIGINT, True),
        ("intellectual_object_id", _BIGINT, True),
    ],
    "confirmation_tokens": [
        ("id", _BIGINT, False),
        ("token", _VARCHAR, True),
        ("intellectual_object_id", _INT, True),
        ("generic_file_id", _INT, True),
        ("institution_id", _INT, True),
        ("user_id", _INT, True),
    ],
    "emails": [
        ("id", _BIGINT, False),
        ("email_type", _VARCHAR, True),
        ("event_identifier", _VARCHAR, True),
        ("item_id", _INT, True),
        ("email_text", _TEXT, True),
        ("user_list", _TEXT, True),
        ("created_at", _TIMESTAMP, False),
        ("updated_at", _TIMESTAMP, False),
        ("intellectual_object_id", _INT, True),
        ("generic_file_id", _INT, True),
        ("institution_id", _INT, True),
    ],
    "emails_generic_files": [("generic_file_id", _BIGINT, True), ("email_id", _BIGINT, True)],
    "emails_intellectual_objects": [("intellectual_object_id", _BIGINT, True), ("email_id", _BIGINT, True)],
    "emails_premis_events": [("premis_event_id", _BIGINT, True), ("email_id", _BIGINT, True)],
    "emails_work_items": [("work_item_id", _BIGINT, True), ("email_id", _BIGINT, True)],
    "old_passwords": [
        ("id", _BIGINT, False),
        ("encrypted_password", _VARCHAR, False),
        ("password_salt", _VARCHAR, True),
        ("password_archivable_type", _VARCHAR, False),
        ("password_archivable_id", _INT, False),
        ("created_at", _TIMESTAMP, True),
    ],
    "snapshots": [
        ("id", _BIGINT, False),
        ("audit_date", _TIMESTAMP, True),
        ("institution_id", _INT, True),
        ("apt_bytes", _BIGINT, True),
        ("cost", _NUMERIC, True),
        ("created_at", _TIMESTAMP, False),
        ("updated_at", _TIMESTAMP, False),
        ("snapshot_type", _VARCHAR, True),
        ("cs_bytes", _BIGINT, True),
        ("go_bytes", _BIGINT, True),
    ],
    "usage_samples": [
        ("id", _INT, False),
        ("created_at", _TIMESTAMP, False),
        ("updated_at", _TIMESTAMP, False),
        ("institution_id", _VARCHAR, True),
        ("data", _TEXT, True),
    ],
}


def legacy_columns(registry: RegistryBuilder, table: str) -> list[tuple[str, str, bool]]:
    """A legacy table's columns as the database has them: (column, type, nullable), in order."""
    return [
        (row["column_name"], row["data_type"], row["is_nullable"] == "YES")
        for row in rows(
            registry,
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = %(schema)s AND table_name = %(table)s ORDER BY ordinal_position",
            {"schema": LEGACY_SCHEMA, "table": table},
        )
    ]


def legacy_rows(registry: RegistryBuilder, table: str) -> list[dict]:
    """Every row of a legacy table (``LEGACY_SCHEMA``), in physical order."""
    assert table in LEGACY_PHAROS_COLUMNS, table
    return rows(registry, f"SELECT * FROM {LEGACY_SCHEMA}.{table}")


@pytest.fixture
def legacy_registry(registry):
    """The demo registry (``seed_registry``, legacy Pharos rows included) on a clean database."""
    seed_registry(registry)
    return registry
