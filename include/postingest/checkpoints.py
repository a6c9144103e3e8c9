"""The checkpoint table: one stream position per shard, and the records parked for an operator.

Hash ``pk``, range ``sk``, both strings. A position is keyed by stream ARN and shard
id (``checkpoint#<stream arn>`` / ``<shard id>``), so a recreated state table (a new
stream) starts fresh; a parked record by state table and position
(``parked#<table>`` / ``<shard id>#<sequence number>``).

The state-change task creates the table when it is missing: it is that task's own
bookkeeping, holds nothing anyone else writes, and has no settings to choose, so a
deployment needs no separate step for it (the state table, the queues and the topic
belong to the ingest platform and are provisioned with it).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from include.postingest.stream import short_text
from include.postingest.transitions import StreamRecord

CHECKPOINT_PREFIX = "checkpoint#"
PARKED_PREFIX = "parked#"
# a parked row stays far below DynamoDB's item limit whatever the record held: its
# images are kept as JSON text cut at this length, the error at the next
PARKED_RECORD_CHARS = 300_000
PARKED_ERROR_CHARS = 2_000


def checkpoint_table_definition(table_name: str) -> dict[str, Any]:
    """The CreateTable parameters of a checkpoint table."""
    return {
        "TableName": table_name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        "BillingMode": "PAY_PER_REQUEST",
    }


def positions_key(stream_arn: str) -> str:
    """The ``pk`` of the stream's shard positions."""
    return CHECKPOINT_PREFIX + stream_arn


def parked_key(table_name: str) -> str:
    """The ``pk`` of the records parked from the state table ``table_name``."""
    return PARKED_PREFIX + table_name


def shard_position(row: dict[str, Any]) -> dict[str, Any]:
    """``{"sequenceNumber": ..., "shardEnded": bool}`` of a position row."""
    return {"sequenceNumber": row.get("sequenceNumber"), "shardEnded": row.get("shardEnded", False)}


def position_row(
    stream_arn: str, shard_id: str, sequence_number: str | None, shard_ended: bool, now: str
) -> dict[str, Any]:
    """The row recording that the shard was applied up to ``sequence_number`` (and whether it ended)."""
    row = {"pk": positions_key(stream_arn), "sk": shard_id, "shardEnded": shard_ended, "updatedAt": now}
    if sequence_number is not None:
        row["sequenceNumber"] = sequence_number
    return row


def moved_only_from(previous: str | None) -> dict[str, Any]:
    """The PutItem condition letting a position move only from where this run started (``previous``).

    Two runs reading the same shard both start from one position; the second to write
    finds it moved and fails instead of overwriting.
    """
    if previous is None:
        return {"ConditionExpression": "attribute_not_exists(sk)"}
    return {"ConditionExpression": "sequenceNumber = :previous", "ExpressionAttributeValues": {":previous": previous}}


def parked_row(table_name: str, shard_id: str, record: StreamRecord, error: str, now: str) -> dict[str, Any]:
    """The row keeping a record that cannot be applied, with both images, for an operator.

    Bounded whatever the record holds (see ``PARKED_RECORD_CHARS``): ``recordTruncated``
    says when the images were cut.
    """
    images = _images_text(record)
    return {
        "pk": parked_key(table_name),
        "sk": f"{shard_id}#{record.sequence_number}",
        "assetId": record.asset_id,
        "batchId": record.batch_id,
        "sequenceNumber": record.sequence_number,
        "eventName": short_text(record.event_name),
        "error": short_text(error, PARKED_ERROR_CHARS),
        "parkedAt": now,
        "record": images[:PARKED_RECORD_CHARS],
        "recordTruncated": len(images) > PARKED_RECORD_CHARS,
    }


def parked_summary(row: dict[str, Any]) -> dict[str, str]:
    """How a parked row is listed in the run summary (and so in the failing ``report`` task)."""
    return {"assetId": row["assetId"], "sequenceNumber": row["sequenceNumber"], "error": row["error"]}


def _images_text(record: StreamRecord) -> str:
    images = {"keys": record.keys, "oldImage": record.old_image, "newImage": record.new_image}
    try:
        return json.dumps(images, default=_plain)
    except (TypeError, ValueError, RecursionError):  # what json cannot write: a bounded description
        return json.dumps(short_text(images, PARKED_RECORD_CHARS))


def _plain(value: Any) -> Any:
    """DynamoDB's values that json cannot write: sets as lists, binary as base64, numbers as text."""
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, bytearray) or hasattr(value, "__bytes__"):  # bytes, boto3's Binary
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)
