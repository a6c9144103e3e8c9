"""Hooks of the postingest DAGs, built on the amazon and apache-kafka providers' hooks.

- :class:`PostingestStateHook` (a ``DynamoDBHook``): the state table, its stream
  (the ``dynamodbstreams`` client from the same connection), the GSI of stale items,
  and the checkpoint table that holds stream positions and parked records.
- :class:`ConfirmerQueueHook` (an ``SqsHook``): sends, batch sends with partial
  failure handling, queue retention; counts its calls.
- :class:`NotificationPublisherHook` (a ``KafkaProducerHook``): publishes and
  confirms delivery before anyone may checkpoint past the message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
from airflow.providers.amazon.aws.hooks.sqs import SqsHook
from airflow.providers.apache.kafka.hooks.produce import KafkaProducerHook
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from include.postingest.messages import iso_instant
from include.postingest.provisioning import STALE_INDEX, create_checkpoint_table
from include.postingest.transitions import ConditionalUpdate, StreamRecord

_DESERIALIZER = TypeDeserializer()
CHECKPOINT_PREFIX = "checkpoint#"
PARKED_PREFIX = "parked#"


class CheckpointConflictError(RuntimeError):
    """Another run moved a shard's checkpoint while this one was reading the shard."""


@dataclass
class StreamPage:
    records: list[StreamRecord]
    shard_ended: bool


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def decode_stream_record(raw: dict[str, Any]) -> StreamRecord:
    change = raw["dynamodb"]

    def image(name: str) -> dict[str, Any] | None:
        return {k: _DESERIALIZER.deserialize(v) for k, v in change[name].items()} if name in change else None

    return StreamRecord(
        event_id=raw["eventID"],
        event_name=raw["eventName"],
        sequence_number=change["SequenceNumber"],
        keys=image("Keys") or {},
        old_image=image("OldImage"),
        new_image=image("NewImage"),
    )


class PostingestStateHook(DynamoDBHook):
    """The state table, its stream and the checkpoint table, on one AWS connection."""

    def __init__(self, *, table_name: str, checkpoint_table: str | None = None, **kwargs) -> None:
        super().__init__(table_name=table_name, **kwargs)
        self.checkpoint_table = checkpoint_table
        self.items_read = 0

    @cached_property
    def table(self):
        return self.get_conn().Table(self.table_name)

    @cached_property
    def checkpoints(self):
        return self.get_conn().Table(self.checkpoint_table)

    @cached_property
    def streams(self):
        """The DynamoDB Streams client from this hook's connection (endpoint, region, credentials)."""
        return AwsBaseHook(
            aws_conn_id=self.aws_conn_id,
            client_type="dynamodbstreams",
            region_name=self.region_name,
            config=self.config,
        ).get_conn()

    # -- items ------------------------------------------------------------------
    def current_item(self, key: dict[str, str]) -> dict[str, Any] | None:
        return self.table.get_item(Key=key, ConsistentRead=True).get("Item")

    def apply_update(self, key: dict[str, str], update: ConditionalUpdate) -> bool:
        """Run a conditional UpdateItem; False when the condition no longer holds."""
        try:
            self.table.update_item(Key=key, **update.as_boto3_params())
            return True
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def delete_if(self, key: dict[str, str], condition: ConditionalUpdate) -> bool:
        params = condition.as_boto3_params()
        params.pop("UpdateExpression")
        try:
            self.table.delete_item(Key=key, **params)
            return True
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def stale_items(self, alias: str, cutoff: str, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Items waiting on ``alias`` with ``lastQueued < cutoff``: a Query on the GSI, never a Scan.

        Pages are DynamoDB's own (1 MB) unless ``page_size`` caps them. Adds the index's
        ScannedCount to ``items_read``.
        """
        params: dict[str, Any] = {
            "IndexName": STALE_INDEX,
            "KeyConditionExpression": "#queue = :queue AND lastQueued < :cutoff",
            "ExpressionAttributeNames": {"#queue": "queue"},
            "ExpressionAttributeValues": {":queue": alias, ":cutoff": cutoff},
        }
        if page_size:
            params["Limit"] = page_size
        while True:
            page = self.table.query(**params)
            self.items_read += page.get("ScannedCount", 0)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- stream -----------------------------------------------------------------
    def stream_arn(self) -> str:
        description = self.client.describe_table(TableName=self.table_name)["Table"]
        arn = description.get("LatestStreamArn")
        if not arn or not description.get("StreamSpecification", {}).get("StreamEnabled", True):
            raise ValueError(f"table {self.table_name} has no stream: enable NEW_AND_OLD_IMAGES")
        return arn

    def shards(self, stream_arn: str) -> list[dict[str, Any]]:
        """Every shard of the stream, each parent before its children."""
        shards: list[dict[str, Any]] = []
        params: dict[str, Any] = {"StreamArn": stream_arn}
        while True:
            description = self.streams.describe_stream(**params)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            if not description.get("LastEvaluatedShardId"):
                break
            params["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
        by_id = {shard["ShardId"]: shard for shard in shards}
        ordered: list[dict[str, Any]] = []

        def visit(shard: dict[str, Any]) -> None:
            if shard in ordered:
                return
            parent = by_id.get(shard.get("ParentShardId", ""))
            if parent is not None:
                visit(parent)
            ordered.append(shard)

        for shard in shards:
            visit(shard)
        return ordered

    def read_shard(self, stream_arn: str, shard_id: str, after: str | None, page_size: int) -> Iterator[StreamPage]:
        """Pages of records after sequence ``after`` (from the trim horizon if None).

        Stops at the first empty page (caught up) or at the end of a closed shard. A
        checkpoint older than the stream's 24 h retention restarts at the trim horizon,
        with an error in the log: those records are gone from the stream.
        """
        iterator = self._shard_iterator(stream_arn, shard_id, after)
        last = after
        while iterator:
            try:
                response = self.streams.get_records(ShardIterator=iterator, Limit=page_size)
            except ClientError as error:
                if _error_code(error) != "ExpiredIteratorException":
                    raise
                iterator = self._shard_iterator(stream_arn, shard_id, last)
                continue
            records = [decode_stream_record(raw) for raw in response.get("Records", [])]
            iterator = response.get("NextShardIterator")
            if records:
                last = records[-1].sequence_number
            yield StreamPage(records, shard_ended=iterator is None)
            if not records:
                return

    def _shard_iterator(self, stream_arn: str, shard_id: str, after: str | None) -> str | None:
        params: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard_id}
        if after is None:
            params["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        try:
            return self.streams.get_shard_iterator(**params).get("ShardIterator")
        except ClientError as error:
            if _error_code(error) != "TrimmedDataAccessException" or after is None:
                raise
            self.log.error(
                "shard %s: checkpoint %s is older than the stream's retention; records after it and before "
                "the trim horizon are lost to this processor (the resender re-sends stuck assets)",
                shard_id,
                after,
            )
            return self._shard_iterator(stream_arn, shard_id, None)

    # -- checkpoints and parked records -------------------------------------------
    def ensure_checkpoint_table(self) -> None:
        create_checkpoint_table(self.client, self.checkpoint_table)

    def shard_positions(self, stream_arn: str) -> dict[str, dict[str, Any]]:
        """``{shard_id: {"sequenceNumber": ..., "shardEnded": bool}}`` of the stream's checkpoints."""
        positions = {}
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": CHECKPOINT_PREFIX + stream_arn},
            "ConsistentRead": True,
        }
        while True:
            page = self.checkpoints.query(**params)
            for row in page.get("Items", []):
                positions[row["sk"]] = {
                    "sequenceNumber": row.get("sequenceNumber"),
                    "shardEnded": row.get("shardEnded", False),
                }
            if "LastEvaluatedKey" not in page:
                return positions
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def advance_checkpoint(
        self, stream_arn: str, shard_id: str, previous: str | None, sequence_number: str | None, shard_ended: bool
    ) -> None:
        """Move the shard's checkpoint, only from the position this run started at (``previous``)."""
        condition = "attribute_not_exists(sk)" if previous is None else "sequenceNumber = :previous"
        values = {":previous": previous} if previous is not None else {}
        item = {
            "pk": CHECKPOINT_PREFIX + stream_arn,
            "sk": shard_id,
            "shardEnded": shard_ended,
            "updatedAt": iso_instant(datetime.now(UTC)),
        }
        if sequence_number is not None:
            item["sequenceNumber"] = sequence_number
        try:
            self.checkpoints.put_item(
                Item=item, ConditionExpression=condition, **({"ExpressionAttributeValues": values} if values else {})
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise CheckpointConflictError(
                    f"checkpoint of shard {shard_id} moved away from {previous} while this run read the shard: "
                    "is another run processing the stream?"
                ) from None
            raise

    def park(self, shard_id: str, record: StreamRecord, error: str) -> dict[str, str]:
        """Keep a record that can never be applied, for an operator; idempotent per record."""
        parked = {
            "pk": PARKED_PREFIX + self.table_name,
            "sk": f"{shard_id}#{record.sequence_number}",
            "assetId": record.asset_id,
            "batchId": record.batch_id,
            "sequenceNumber": record.sequence_number,
            "eventName": record.event_name,
            "error": error,
            "parkedAt": iso_instant(datetime.now(UTC)),
            "record": json.dumps(
                {"keys": record.keys, "oldImage": record.old_image, "newImage": record.new_image}, default=str
            ),
        }
        self.checkpoints.put_item(Item=parked)
        return {"assetId": record.asset_id, "sequenceNumber": record.sequence_number, "error": error}

    def parked_records(self) -> list[dict[str, Any]]:
        page = self.checkpoints.query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": PARKED_PREFIX + self.table_name}
        )
        return page.get("Items", [])


class ConfirmerQueueHook(SqsHook):
    """Confirmer queues: single and batch sends, retention; ``calls`` counts SQS API calls."""

    BATCH_LIMIT = 10

    def __init__(self, *args, batch_attempts: int = 4, retry_delay: float = 0.5, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batch_attempts = batch_attempts
        self.retry_delay = retry_delay
        self.calls = 0

    def send(self, queue_url: str, body: str) -> None:
        self.calls += 1
        self.get_conn().send_message(QueueUrl=queue_url, MessageBody=body)

    def retention_seconds(self, queue_url: str) -> str | None:
        """The queue's ``MessageRetentionPeriod``, or None if it cannot be read."""
        self.calls += 1
        try:
            attributes = self.get_conn().get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["MessageRetentionPeriod"]
            )
        except (ClientError, BotoCoreError) as error:
            self.log.warning("%s: cannot read MessageRetentionPeriod (%s); assuming two weeks", queue_url, error)
            return None
        return attributes.get("Attributes", {}).get("MessageRetentionPeriod")

    def send_batch(self, queue_url: str, bodies: list[str]) -> dict[int, str]:
        """Send up to ten bodies with SendMessageBatch; returns ``{index: reason}`` of those not sent.

        Entries that failed through no fault of the sender (throttling, service
        errors) are sent again, with backoff, up to ``batch_attempts`` calls; sender
        faults are final. A call that fails as a whole counts as every entry failing.
        """
        if len(bodies) > self.BATCH_LIMIT:
            raise ValueError(f"SendMessageBatch takes at most {self.BATCH_LIMIT} entries, got {len(bodies)}")
        pending = dict(enumerate(bodies))
        failed: dict[int, str] = {}
        for attempt in range(self.batch_attempts):
            if attempt:
                time.sleep(self.retry_delay * 2 ** (attempt - 1))
            entries = [{"Id": str(index), "MessageBody": body} for index, body in pending.items()]
            self.calls += 1
            try:
                response = self.get_conn().send_message_batch(QueueUrl=queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                reason = f"SendMessageBatch failed: {error}"
                self.log.warning("%s: %s (attempt %d)", queue_url, reason, attempt + 1)
                failed.update({index: reason for index in pending})
                continue
            for sent in response.get("Successful", []):
                pending.pop(int(sent["Id"]), None)
                failed.pop(int(sent["Id"]), None)
            for entry in response.get("Failed", []):
                index = int(entry["Id"])
                failed[index] = f"{entry.get('Code')}: {entry.get('Message', '')}"
                if entry.get("SenderFault"):
                    pending.pop(index, None)
            if not pending:
                break
        return {index: failed[index] for index in sorted(failed)}


class NotificationPublisherHook(KafkaProducerHook):
    """Publishes to the notifications topic and confirms every delivery.

    ``publish`` queues a message; ``confirm_delivery`` waits for all of them and
    raises naming how many were not delivered (and purges them, so nothing stray is
    sent after the task has given up).
    """

    CONSUMER_ONLY = ("group.id", "auto.offset.reset", "session.timeout.ms", "enable.auto.commit")

    def __init__(self, kafka_config_id: str = "kafka_default", delivery_timeout: float = 30.0) -> None:
        super().__init__(kafka_config_id=kafka_config_id)
        self.delivery_timeout = delivery_timeout
        self._undelivered: list[str] = []
        self.published = 0

    def _get_client(self, config):
        config = {key: value for key, value in config.items() if key not in self.CONSUMER_ONLY}
        config.setdefault("message.timeout.ms", int(self.delivery_timeout * 1000))
        return super()._get_client(config)

    def _on_delivery(self, error, message) -> None:
        if error is not None:
            self._undelivered.append(f"{message.key().decode() if message.key() else None}: {error}")

    def publish(self, topic: str, key: str, value: str) -> None:
        producer = self.get_conn
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=value.encode(), on_delivery=self._on_delivery)
                break
            except BufferError:
                producer.poll(0.5)
        self.published += 1
        producer.poll(0)

    def confirm_delivery(self, topic: str) -> None:
        producer = self.get_conn
        remaining = producer.flush(self.delivery_timeout + 5)
        if remaining or self._undelivered:
            undelivered = remaining + len(self._undelivered)
            examples = self._undelivered[:3] or ["broker unreachable"]
            producer.purge()
            producer.flush(0)
            self._undelivered = []
            raise ConnectionError(
                f"{undelivered} notification(s) not delivered to topic {topic} "
                f"within {self.delivery_timeout:.0f}s: {'; '.join(examples)}"
            )
