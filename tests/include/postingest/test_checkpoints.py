"""The rows of the checkpoint table and the condition that fences two runs."""

from __future__ import annotations

import json

from include.postingest.checkpoints import (
    checkpoint_table_definition,
    moved_only_from,
    parked_row,
    position_row,
    shard_position,
)
from include.postingest.transitions import StreamRecord

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
