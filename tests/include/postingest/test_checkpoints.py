"""The rows of the checkpoint table and the condition that fences two runs."""

from __future__ import annotations

import json
from decimal import Decimal

from boto3.dynamodb.types import Binary
from hypothesis import given

from include.postingest.checkpoints import (
    PARKED_ERROR_CHARS,
    PARKED_RECORD_CHARS,
    checkpoint_table_definition,
    moved_only_from,
    parked_row,
    parked_summary,
    position_row,
    shard_position,
)
from include.postingest.limits import DYNAMODB_ITEM_BYTES, item_bytes
from include.postingest.stream import salvaged_record
from include.postingest.transitions import StreamRecord
from tests.include.postingest.strategies import raw_records

NOW = "2026-11-23T12:00:00.000Z"


def test_a_position_moves_only_from_where_the_run_started():
    assert moved_only_from(None) == {"ConditionExpression": "attribute_not_exists(sk)"}
    assert moved_only_from("100") == {
        "ConditionExpression": "sequenceNumber = :previous",
        "ExpressionAttributeValues": {":previous": "100"},
    }


def test_a_position_row_is_keyed_by_stream_and_shard_and_reads_back():
    row = position_row("arn:stream", "shard-1", "120", False, NOW)
    ended_without_records = position_row("arn:stream", "shard-2", None, True, NOW)

    assert row == {
        "pk": "checkpoint#arn:stream",
        "sk": "shard-1",
        "sequenceNumber": "120",
        "shardEnded": False,
        "updatedAt": NOW,
    }
    assert "sequenceNumber" not in ended_without_records
    assert shard_position(row) == {"sequenceNumber": "120", "shardEnded": False}
    assert shard_position(ended_without_records) == {"sequenceNumber": None, "shardEnded": True}


def test_a_parked_row_keeps_the_record_for_an_operator():
    record = StreamRecord(
        event_id="e-1",
        event_name="MODIFY",
        sequence_number="130",
        keys={"assetId": "a-1", "batchId": "b-1"},
        new_image={"assetId": "a-1", "queue": "CC"},
    )

    row = parked_row("state", "shard-1", record, "MODIFY without the old image", NOW)

    assert {key: row[key] for key in ("pk", "sk", "assetId", "batchId", "sequenceNumber", "eventName")} == {
        "pk": "parked#state",
        "sk": "shard-1#130",
        "assetId": "a-1",
        "batchId": "b-1",
        "sequenceNumber": "130",
        "eventName": "MODIFY",
    }
    assert (row["error"], row["parkedAt"]) == ("MODIFY without the old image", NOW)
    assert json.loads(row["record"]) == {
        "keys": record.keys,
        "oldImage": None,
        "newImage": {"assetId": "a-1", "queue": "CC"},
    }


def test_a_parked_row_keeps_every_dynamodb_type_and_stays_within_the_item_limit():
    huge = "x" * 390_000
    record = StreamRecord(
        "e-1",
        "INSERT",
        "130",
        {"assetId": "a-1", "batchId": "b-1"},
        old_image={"input": huge, "n": Decimal("1.5"), "b": Binary(b"\x00"), "s": {"x"}},
        new_image={"input": huge},
    )

    row = parked_row("state", "shard-1", record, "e" * 10_000, NOW)

    assert row["recordTruncated"] is True and len(row["record"]) == PARKED_RECORD_CHARS
    assert row["record"].startswith('{"keys": {"assetId": "a-1", "batchId": "b-1"}, "oldImage": {"input": "xxx')
    assert len(row["error"]) == PARKED_ERROR_CHARS
    assert item_bytes(row) < DYNAMODB_ITEM_BYTES
    assert parked_summary(row) == {"assetId": "a-1", "sequenceNumber": "130", "error": row["error"]}


def test_a_record_nested_beyond_what_json_can_write_is_parked_with_a_bounded_description():
    deep: dict = {"S": "leaf"}
    for _ in range(100_000):
        deep = {"L": [deep]}
    record = salvaged_record({"eventID": "e", "eventName": "INSERT", "dynamodb": {"NewImage": {"x": deep}}})

    row = parked_row("state", "shard-1", record, "nested", NOW)

    assert row["recordTruncated"] is False and len(row["record"]) < 1000


@given(raw_records)
def test_any_record_parks_as_a_bounded_row_of_valid_text(raw):
    row = parked_row("state", "shard-1", salvaged_record(raw), "error", NOW)

    assert item_bytes(row) < DYNAMODB_ITEM_BYTES
    for value in row.values():
        if isinstance(value, str):
            value.encode("utf-8")  # DynamoDB takes only valid Unicode


def test_the_checkpoint_table_has_string_keys_pk_and_sk():
    definition = checkpoint_table_definition("checkpoints")

    assert definition["TableName"] == "checkpoints"
    assert [(key["AttributeName"], key["KeyType"]) for key in definition["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]} == {
        "pk": "S",
        "sk": "S",
    }
