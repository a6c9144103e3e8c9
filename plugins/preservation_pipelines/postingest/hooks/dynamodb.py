"""The postingest state table, its stream and the checkpoint table, on the amazon provider's DynamoDBHook.

The stream is read with the ``dynamodbstreams`` client of the same connection (the
provider has no streams hook). What the rows and records look like is in
:mod:`include.postingest.checkpoints` and :mod:`include.postingest.stream`.

The item writes go through the resource's client (it still takes and gives plain values),
which unlike boto3's resource objects may be shared by the applier's threads; its
connection pool holds a connection per thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
from botocore.config import Config
from botocore.exceptions import ClientError

from include.postingest.checkpoints import (
    checkpoint_table_definition,
    moved_only_from,
    parked_key,
    parked_row,
    parked_summary,
    position_row,
    positions_key,
    shard_position,
)
from include.postingest.limits import CONCURRENCY_RANGE, InvalidParameterError
from include.postingest.messages import iso_instant, utc_now
from include.postingest.names import STALE_INDEX
from include.postingest.stream import StreamPage, parents_first, position_after
from include.postingest.tables import create_table_if_missing
from include.postingest.transitions import ConditionalUpdate, StreamRecord


class CheckpointConflictError(RuntimeError):
    """Another run moved a shard's checkpoint while this one was reading the shard."""


def _key_of(item: dict[str, Any]) -> tuple[str, str]:
    return item["assetId"], item["batchId"]


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


@contextmanager
def _table_must_exist(table_name: str) -> Iterator[None]:
    """A missing state table is a bad ``table`` parameter, not something a retry fixes."""
    try:
        yield
    except ClientError as error:
        if _error_code(error) == "ResourceNotFoundException":
            raise InvalidParameterError(f"table {table_name} does not exist") from None
        raise


class PostingestStateHook(DynamoDBHook):
    """The state table, its stream and the checkpoint table, on one AWS connection.

    ``batch_read_limit`` keys are read per BatchGetItem call (DynamoDB takes up to 100).
    """

    BATCH_GET_LIMIT = 100
    BATCH_GET_ATTEMPTS = 8

    def __init__(
        self,
        *,
        table_name: str,
        checkpoint_table: str | None = None,
        batch_read_limit: int = BATCH_GET_LIMIT,
        **kwargs,
    ) -> None:
        super().__init__(table_name=table_name, **kwargs)
        self.checkpoint_table = checkpoint_table
        self.batch_read_limit = batch_read_limit
        self.items_read = 0

    @property
    def config(self) -> Config:
        """The connection's botocore settings, with a connection for each of the applier's threads."""
        return super().config.merge(Config(max_pool_connections=CONCURRENCY_RANGE[1]))

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
    def current_items(self, keys: list[dict[str, str]]) -> list[dict[str, Any] | None]:
        """The items as they are now (strongly consistent), in the order of ``keys``; None where there is none.

        BatchGetItem, ``batch_read_limit`` keys a call; keys DynamoDB leaves unprocessed
        (throttling) are asked again with backoff.
        """
        found: dict[tuple[str, str], dict[str, Any]] = {}
        unique = list({_key_of(key): key for key in keys}.values())
        for start in range(0, len(unique), self.batch_read_limit):
            request = {self.table_name: {"Keys": unique[start : start + self.batch_read_limit], "ConsistentRead": True}}
            for attempt in range(self.BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(min(0.05 * 2**attempt, 2.0))
                with _table_must_exist(self.table_name):
                    response = self.get_conn().batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    found[_key_of(item)] = item
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise ConnectionError(
                    f"table {self.table_name}: keys still unprocessed after {attempt + 1} BatchGetItem calls"
                )
        return [found.get(_key_of(key)) for key in keys]

    def apply_update(self, key: dict[str, str], update: ConditionalUpdate) -> bool:
        """Run a conditional UpdateItem; False when the condition no longer holds. Safe from several threads."""
        return self._conditionally(
            self.client.update_item, TableName=self.table_name, Key=key, **update.as_boto3_params()
        )

    def delete_if(self, key: dict[str, str], condition: ConditionalUpdate) -> bool:
        """Run a conditional DeleteItem; False when the condition no longer holds. Safe from several threads."""
        params = condition.as_boto3_params()
        params.pop("UpdateExpression")
        return self._conditionally(self.client.delete_item, TableName=self.table_name, Key=key, **params)

    @staticmethod
    def _conditionally(call, **params) -> bool:
        try:
            call(**params)
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
            with _table_must_exist(self.table_name):
                page = self.table.query(**params)
            self.items_read += page.get("ScannedCount", 0)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- stream -----------------------------------------------------------------
    def stream_arn(self) -> str:
        """The state table's stream; a table that is missing or has no stream is a bad ``table`` parameter."""
        with _table_must_exist(self.table_name):
            description = self.client.describe_table(TableName=self.table_name)["Table"]
        arn = description.get("LatestStreamArn")
        if not arn or not description.get("StreamSpecification", {}).get("StreamEnabled", True):
            raise InvalidParameterError(f"table {self.table_name} has no stream: enable NEW_AND_OLD_IMAGES")
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
        return parents_first(shards)

    def read_shard(self, stream_arn: str, shard_id: str, after: str | None, page_size: int) -> Iterator[StreamPage]:
        """Pages of records after sequence ``after`` (from the trim horizon if None), as the API gave them.

        Decoding is the applier's, record by record, so one record that cannot be decoded
        is parked rather than failing its page. Stops at the first empty page (caught up)
        or at the end of a closed shard. A checkpoint older than the stream's 24 h
        retention restarts at the trim horizon, with an error in the log: those records
        are gone from the stream. A page of records already read raises
        :class:`~include.postingest.stream.StreamNotAdvancingError` rather than being
        followed round again.
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
            records = response.get("Records", [])
            iterator = response.get("NextShardIterator")
            last = position_after(records, last, shard_id)
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
        """Create the checkpoint table if it is missing (see :mod:`include.postingest.checkpoints` for why)."""
        create_table_if_missing(self.client, checkpoint_table_definition(self.checkpoint_table))

    def shard_positions(self, stream_arn: str) -> dict[str, dict[str, Any]]:
        """``{shard_id: {"sequenceNumber": ..., "shardEnded": bool}}`` of the stream's checkpoints."""
        positions = {}
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": positions_key(stream_arn)},
            "ConsistentRead": True,
        }
        while True:
            page = self.checkpoints.query(**params)
            for row in page.get("Items", []):
                positions[row["sk"]] = shard_position(row)
            if "LastEvaluatedKey" not in page:
                return positions
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def advance_checkpoint(
        self, stream_arn: str, shard_id: str, previous: str | None, sequence_number: str | None, shard_ended: bool
    ) -> None:
        """Move the shard's checkpoint, only from the position this run started at (``previous``)."""
        row = position_row(stream_arn, shard_id, sequence_number, shard_ended, iso_instant(utc_now()))
        try:
            self.checkpoints.put_item(Item=row, **moved_only_from(previous))
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise CheckpointConflictError(
                    f"checkpoint of shard {shard_id} moved away from {previous} while this run read the shard: "
                    "is another run processing the stream?"
                ) from None
            raise

    def park(self, shard_id: str, record: StreamRecord, error: str) -> dict[str, str]:
        """Keep a record that cannot be applied, for an operator; idempotent per record. Returns its summary entry."""
        row = parked_row(self.table_name, shard_id, record, error, iso_instant(utc_now()))
        self.checkpoints.put_item(Item=row)
        return parked_summary(row)

    def parked_records(self) -> list[dict[str, Any]]:
        page = self.checkpoints.query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": parked_key(self.table_name)}
        )
        return page.get("Items", [])
