"""Fixtures of the APTrust tests (import them into a test module): a clean registry on the
real PostgreSQL, the real broker's topics read back, a producer connection that gives up
fast, the SMTP sink's mailbox emptied."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from devstack.demo_seed_aptrust import RegistryBuilder


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
