"""A private postingest world per test on the real devstack: table, queues, topic.

Test modules import the fixtures by name (``from tests.dags.postingest.fixtures import
postingest``). Names carry a random suffix, so tests never see each other's items,
messages or notifications; the names and the queue config reach Airflow as the
Variables the DAGs read (``variables``), through ``AIRFLOW_VAR_*`` environment variables.
The checkpoint table only gets its name: the state-change task (or ``ensure_checkpoint_table``)
creates it, as in production.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from devstack import postingest_provisioning as provisioning


@dataclass
class Postingest:
    """Handles on one provisioned postingest world, and the confirmers' side of it."""

    suffix: str
    table: str
    checkpoint_table: str
    topic: str
    variable: str
    queue_urls: dict[str, str]
    dynamodb: Any
    sqs: Any
    bootstrap_servers: str
    _consumed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def variables(self) -> dict[str, str]:
        """The Airflow Variables pointing both DAGs at this world."""
        from include.postingest.names import CHECKPOINT_TABLE_VARIABLE, STATE_TABLE_VARIABLE, TOPIC_VARIABLE

        return {
            STATE_TABLE_VARIABLE: self.table,
            CHECKPOINT_TABLE_VARIABLE: self.checkpoint_table,
            TOPIC_VARIABLE: self.topic,
            self.variable: os.environ[f"AIRFLOW_VAR_{self.variable.upper()}"],
        }

    @property
    def state_table(self):
        return self.dynamodb.Table(self.table)

    def queue_config(self):
        """The parsed queue config of the world's Variable, as a test has set it."""
        from include.postingest.config import parse_queue_config

        return parse_queue_config(os.environ[f"AIRFLOW_VAR_{self.variable.upper()}"])

    def state_hook(self):
        """A state hook on the world's tables, its checkpoint table created."""
        from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook

        hook = PostingestStateHook(table_name=self.table, checkpoint_table=self.checkpoint_table)
        hook.ensure_checkpoint_table()
        return hook

    def insert_asset(self, asset_id: str | None = None, **attributes: Any) -> dict[str, Any]:
        item = {
            "assetId": asset_id or str(uuid.uuid4()),
            "batchId": f"TDR_{uuid.uuid4()}",
            "input": json.dumps({"preservationSystemId": str(uuid.uuid4())}),
            **attributes,
        }
        self.state_table.put_item(Item=item)
        return item

    def limit_messages(self, alias: str, max_bytes: int) -> None:
        """Set the queue's ``MaximumMessageSize``, which SQS (and moto) enforce on every send."""
        self.sqs.set_queue_attributes(
            QueueUrl=self.queue_urls[alias], Attributes={"MaximumMessageSize": str(max_bytes)}
        )

    def item(self, asset: dict[str, Any]) -> dict[str, Any] | None:
        key = {"assetId": asset["assetId"], "batchId": asset["batchId"]}
        return self.state_table.get_item(Key=key, ConsistentRead=True).get("Item")

    def queue_messages(self, alias: str, delete: bool = True) -> list[dict[str, Any]]:
        """Every message waiting on the queue (deleted once read, as a confirmer does)."""
        messages = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_urls[alias], MaxNumberOfMessages=10, VisibilityTimeout=30
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                messages.append(json.loads(message["Body"]))
                if delete:
                    self.sqs.delete_message(QueueUrl=self.queue_urls[alias], ReceiptHandle=message["ReceiptHandle"])

    def confirm(self, alias: str, result: str) -> list[dict[str, Any]]:
        """Play the confirmer of ``alias``: take its messages, write ``result_<alias>`` on each item."""
        messages = self.queue_messages(alias)
        for message in messages:
            self.state_table.update_item(
                Key={"assetId": message["assetId"], "batchId": message["batchId"]},
                UpdateExpression="SET #result = :result",
                ExpressionAttributeNames={"#result": message["resultAttrName"]},
                ExpressionAttributeValues={":result": result},
            )
        return messages

    def notifications(self, expected: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """All notifications on the topic so far (waits until at least ``expected`` arrived)."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": f"test-{uuid.uuid4()}",
                "enable.auto.commit": False,
            }
        )
        # every partition: a producer left from before a broker restart may have auto-created the
        # topic (with the broker's default partition count) before the test re-created it
        partitions = consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
        consumer.assign([TopicPartition(self.topic, partition, OFFSET_BEGINNING) for partition in sorted(partitions)])
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is None:
                    if len(found) >= expected:
                        break
                    continue
                if message.error():
                    continue
                found.append({"key": message.key().decode(), **json.loads(message.value())})
        finally:
            consumer.close()
        return found


def repeat_the_last_record(streams, arn: str, shard_id: str) -> None:
    """GetRecords as moto answered once two records shared a sequence number: at the end of the
    shard, the iterator it returned led back to the last record, again and again."""
    real = streams.get_records

    def get_records(ShardIterator, Limit):  # noqa: N803 - boto3's parameter names
        response = real(ShardIterator=ShardIterator, Limit=Limit)
        if response["Records"]:
            return response
        start = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
        everything = real(ShardIterator=start["ShardIterator"], Limit=1000)["Records"]
        return {"Records": everything[-1:], "NextShardIterator": response["NextShardIterator"]}

    streams.get_records = get_records


@pytest.fixture
def postingest(moto, kafka, monkeypatch) -> Postingest:
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook
    from confluent_kafka.admin import AdminClient

    from include.postingest.config import QUEUE_CONFIG_VARIABLE

    suffix = uuid.uuid4().hex[:8]
    dynamodb = DynamoDBHook().get_conn()
    sqs = SqsHook().get_conn()
    table = provisioning.create_state_table(dynamodb.meta.client, f"postingest-state-{suffix}")
    config = provisioning.create_confirmer_queues(sqs, {"CC": f"cc-confirmer-{suffix}", "TC": f"tc-confirmer-{suffix}"})
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    topic = provisioning.create_topic(admin, f"notifications-{suffix}")
    monkeypatch.setenv(f"AIRFLOW_VAR_{QUEUE_CONFIG_VARIABLE.upper()}", config)
    world = Postingest(
        suffix=suffix,
        table=table,
        checkpoint_table=f"postingest-checkpoints-{suffix}",
        topic=topic,
        variable=QUEUE_CONFIG_VARIABLE,
        queue_urls={entry["queueAlias"]: entry["queueUrl"] for entry in json.loads(config)},
        dynamodb=dynamodb,
        sqs=sqs,
        bootstrap_servers=kafka.bootstrap_servers,
    )
    for name, value in world.variables.items():
        monkeypatch.setenv(f"AIRFLOW_VAR_{name.upper()}", value)
    return world
