"""Stream records decoded from DynamoDB's typed JSON, and shards ordered parents first."""

from __future__ import annotations

from include.postingest.stream import decode_stream_record, parents_first


def test_a_record_is_decoded_to_plain_values_and_a_missing_image_is_none():
    raw = {
        "eventID": "e-1",
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": "100",
            "Keys": {"assetId": {"S": "a-1"}, "batchId": {"S": "b-1"}},
            "NewImage": {"assetId": {"S": "a-1"}, "batchId": {"S": "b-1"}, "attempts": {"N": "2"}},
        },
    }

    record = decode_stream_record(raw)

    assert (record.event_id, record.event_name, record.sequence_number) == ("e-1", "INSERT", "100")
    assert record.keys == {"assetId": "a-1", "batchId": "b-1"}
    assert record.new_image == {"assetId": "a-1", "batchId": "b-1", "attempts": 2}
    assert record.old_image is None


def test_parents_come_before_their_children_and_a_trimmed_parent_holds_nothing_back():
    shards = [
        {"ShardId": "grandchild", "ParentShardId": "child"},
        {"ShardId": "child", "ParentShardId": "root"},
        {"ShardId": "orphan", "ParentShardId": "trimmed"},
        {"ShardId": "root"},
    ]

    assert [shard["ShardId"] for shard in parents_first(shards)] == ["root", "child", "grandchild", "orphan"]
