"""The infrastructure postingest expects, created idempotently from plain clients.

Used by the tests, the demo seed and the benchmark (production tables, queues and
topics are created by the platform's infrastructure code from the same facts).
Takes boto3 and confluent-kafka clients, so it runs with or without Airflow.
"""

from __future__ import annotations

import json
import time
from typing import Any

STATE_TABLE = "dr2-postingest-state"
CHECKPOINT_TABLE = "dr2-postingest-checkpoints"
NOTIFICATIONS_TOPIC = "dr2-notifications"
STALE_INDEX = "QueueLastQueuedIdx"
SQS_MAXIMUM_RETENTION_SECONDS = 14 * 24 * 3600


def create_state_table(dynamodb_client, table_name: str = STATE_TABLE) -> str:
    """The state table with its NEW_AND_OLD_IMAGES stream and the ``QueueLastQueuedIdx`` GSI."""
    _create_table(
        dynamodb_client,
        TableName=table_name,
        KeySchema=[{"AttributeName": "assetId", "KeyType": "HASH"}, {"AttributeName": "batchId", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("assetId", "batchId", "queue", "lastQueued")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": STALE_INDEX,
                "KeySchema": [
                    {"AttributeName": "queue", "KeyType": "HASH"},
                    {"AttributeName": "lastQueued", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return table_name


def create_checkpoint_table(dynamodb_client, table_name: str = CHECKPOINT_TABLE) -> str:
    """Stream checkpoints and parked records: hash ``pk``, range ``sk``."""
    _create_table(
        dynamodb_client,
        TableName=table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        BillingMode="PAY_PER_REQUEST",
    )
    return table_name


def create_confirmer_queues(sqs_client, names_by_alias: dict[str, str]) -> str:
    """One queue per alias (two weeks' retention), in the given order; returns the queue config JSON."""
    entries = []
    for order, (alias, name) in enumerate(names_by_alias.items(), start=1):
        url = sqs_client.create_queue(
            QueueName=name, Attributes={"MessageRetentionPeriod": str(SQS_MAXIMUM_RETENTION_SECONDS)}
        )["QueueUrl"]
        entries.append({"queueAlias": alias, "queueOrder": order, "queueUrl": url})
    return json.dumps(entries)


def create_topic(kafka_admin_client, topic: str = NOTIFICATIONS_TOPIC, partitions: int = 1) -> str:
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    futures = kafka_admin_client.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    for future in futures.values():
        try:
            future.result(timeout=30)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return topic


def _create_table(dynamodb_client, **definition: Any) -> None:
    """Create the table unless it exists (a DescribeTable first: CreateTable is rate-limited)."""
    try:
        dynamodb_client.describe_table(TableName=definition["TableName"])
        return
    except dynamodb_client.exceptions.ResourceNotFoundException:
        pass
    try:
        dynamodb_client.create_table(**definition)
    except dynamodb_client.exceptions.ResourceInUseException:
        pass
    for _ in range(120):
        if dynamodb_client.describe_table(TableName=definition["TableName"])["Table"]["TableStatus"] == "ACTIVE":
            return
        time.sleep(0.5)
    raise TimeoutError(f"table {definition['TableName']} did not become ACTIVE")
