"""The infrastructure postingest expects, created idempotently from plain clients: setup, not product.

Used by the tests, the demo seed and the benchmark. In production the ingest platform's
infrastructure code creates the state table, the queues and the topic from the same
facts (the names in ``include.postingest.names``); the checkpoint table is created by
the state-change task itself (``include.postingest.checkpoints``). Takes boto3 and
confluent-kafka clients, so it runs with or without Airflow.
"""

from __future__ import annotations

import json

from include.postingest.limits import SQS_MAXIMUM_RETENTION
from include.postingest.names import NOTIFICATIONS_TOPIC, STALE_INDEX, STATE_TABLE
from include.postingest.tables import create_table_if_missing


def create_state_table(dynamodb_client, table_name: str = STATE_TABLE) -> str:
    """The state table with its NEW_AND_OLD_IMAGES stream and the stale-items GSI."""
    return create_table_if_missing(
        dynamodb_client,
        {
            "TableName": table_name,
            "KeySchema": [
                {"AttributeName": "assetId", "KeyType": "HASH"},
                {"AttributeName": "batchId", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"} for name in ("assetId", "batchId", "queue", "lastQueued")
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": STALE_INDEX,
                    "KeySchema": [
                        {"AttributeName": "queue", "KeyType": "HASH"},
                        {"AttributeName": "lastQueued", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )


def create_confirmer_queues(sqs_client, names_by_alias: dict[str, str]) -> str:
    """One queue per alias (SQS's maximum retention), in the given order; returns the queue config JSON."""
    retention = str(int(SQS_MAXIMUM_RETENTION.total_seconds()))
    entries = []
    for order, (alias, name) in enumerate(names_by_alias.items(), start=1):
        url = sqs_client.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": retention})["QueueUrl"]
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
