"""The postingest state hook against moto (DynamoDB and its stream)."""

from __future__ import annotations

import pytest

from include.postingest.limits import InvalidParameterError
from include.postingest.stream import StreamNotAdvancingError, decode_stream_record
from preservation_pipelines.postingest.hooks.dynamodb import CheckpointConflictError, PostingestStateHook
from tests.dags.postingest.fixtures import postingest, repeat_the_last_record  # noqa: F401 - fixture


@pytest.fixture
def state(postingest):
    hook = PostingestStateHook(table_name=postingest.table, checkpoint_table=postingest.checkpoint_table)
    hook.ensure_checkpoint_table()
    return hook


def test_the_stream_is_read_in_pages_from_a_checkpoint(postingest, state):
    assets = [postingest.insert_asset() for _ in range(3)]
    arn = state.stream_arn()
    [shard] = state.shards(arn)

    pages = list(state.read_shard(arn, shard["ShardId"], None, page_size=2))
    first = decode_stream_record(pages[0].records[0])
    state.advance_checkpoint(arn, shard["ShardId"], None, first.sequence_number, False)
    later_pages = state.read_shard(arn, shard["ShardId"], first.sequence_number, 10)
    rest = [decode_stream_record(raw).keys["assetId"] for page in later_pages for raw in page.records]

    assert [len(page.records) for page in pages] == [2, 1, 0]
    assert (first.event_name, first.old_image, first.new_image["input"]) == ("INSERT", None, assets[0]["input"])
    assert rest == [a["assetId"] for a in assets[1:]]
    expected_position = {"sequenceNumber": first.sequence_number, "shardEnded": False}
    assert state.shard_positions(arn) == {shard["ShardId"]: expected_position}


def test_a_page_of_records_already_read_stops_the_read_by_name(postingest, state):
    postingest.insert_asset()
    postingest.insert_asset()
    arn = state.stream_arn()
    [shard] = state.shards(arn)
    repeat_the_last_record(state.streams, arn, shard["ShardId"])

    pages = []
    with pytest.raises(StreamNotAdvancingError, match=f"shard {shard['ShardId']}: .* not after") as raised:
        for page in state.read_shard(arn, shard["ShardId"], None, page_size=10):
            pages.append(page)
            assert len(pages) < 5, "the read went round the same records"
    assert [len(page.records) for page in pages] == [2]
    assert decode_stream_record(pages[0].records[-1]).sequence_number in str(raised.value)


def test_a_checkpoint_moves_only_from_where_the_run_started(postingest, state):
    postingest.insert_asset()
    arn = state.stream_arn()
    [shard] = state.shards(arn)
    state.advance_checkpoint(arn, shard["ShardId"], None, "100", False)

    with pytest.raises(CheckpointConflictError, match=f"checkpoint of shard {shard['ShardId']} moved away from 99"):
        state.advance_checkpoint(arn, shard["ShardId"], "99", "120", False)
    with pytest.raises(CheckpointConflictError):
        state.advance_checkpoint(arn, shard["ShardId"], None, "120", False)
    state.advance_checkpoint(arn, shard["ShardId"], "100", "120", False)
    assert state.shard_positions(arn)[shard["ShardId"]]["sequenceNumber"] == "120"


def test_stale_items_come_from_the_index_and_read_only_what_matches(postingest, state):
    stale = [postingest.insert_asset(queue="CC", lastQueued=f"2025-06-0{n}T10:00") for n in (1, 2)]
    for n in (6, 7, 8):
        postingest.insert_asset(queue="CC", lastQueued=f"2025-06-0{n}T10:00")
    for n in (1, 2, 3):
        postingest.insert_asset(queue="TC", lastQueued=f"2025-06-0{n}T10:00")
    postingest.insert_asset()  # not queued yet: not in the sparse index

    found = list(state.stale_items("CC", "2025-06-05T16:24:00.000Z", page_size=1))

    assert sorted(item["assetId"] for item in found) == sorted(item["assetId"] for item in stale)
    assert state.items_read == 2


def test_a_table_without_a_stream_is_refused_by_name(postingest):
    postingest.dynamodb.meta.client.create_table(
        TableName=f"no-stream-{postingest.suffix}",
        KeySchema=[{"AttributeName": "assetId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "assetId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    with pytest.raises(ValueError, match=f"table no-stream-{postingest.suffix} has no stream"):
        PostingestStateHook(table_name=f"no-stream-{postingest.suffix}").stream_arn()


def test_a_missing_table_is_a_bad_parameter_named_by_both_readers(postingest):
    missing = PostingestStateHook(table_name=f"missing-{postingest.suffix}")

    with pytest.raises(InvalidParameterError, match=f"table missing-{postingest.suffix} does not exist"):
        missing.stream_arn()
    with pytest.raises(InvalidParameterError, match=f"table missing-{postingest.suffix} does not exist"):
        list(missing.stale_items("CC", "2025-06-05T16:24:00.000Z"))


def test_a_missing_checkpoint_table_is_created_once(postingest):
    hook = PostingestStateHook(table_name=postingest.table, checkpoint_table=postingest.checkpoint_table)
    client = postingest.dynamodb.meta.client
    assert postingest.checkpoint_table not in client.list_tables()["TableNames"]

    hook.ensure_checkpoint_table()
    hook.ensure_checkpoint_table()

    table = client.describe_table(TableName=postingest.checkpoint_table)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert [(key["AttributeName"], key["KeyType"]) for key in table["KeySchema"]] == [("pk", "HASH"), ("sk", "RANGE")]


def test_items_are_read_in_batches_in_the_order_asked_none_where_missing(postingest):
    assets = [postingest.insert_asset() for _ in range(5)]
    hook = PostingestStateHook(table_name=postingest.table, batch_read_limit=2)
    calls = []
    hook.get_conn().meta.client.meta.events.register("before-call.dynamodb.BatchGetItem", lambda **_: calls.append(1))
    missing = {"assetId": "not-there", "batchId": "none"}
    keys = [{"assetId": a["assetId"], "batchId": a["batchId"]} for a in reversed(assets)]

    items = hook.current_items([*keys[:2], missing, *keys[2:]])

    assert [item and item["assetId"] for item in items] == [
        *[a["assetId"] for a in reversed(assets)][:2],
        None,
        *[a["assetId"] for a in reversed(assets)][2:],
    ]
    assert items[0]["input"] == assets[-1]["input"]
    assert len(calls) == 3  # six keys, two a call


def test_conditional_writes_report_a_lost_condition_as_false(postingest, state):
    from include.postingest.config import ConfirmerQueue
    from include.postingest.transitions import Complete, QueueFirst, completed_delete_condition, queued_update

    asset = postingest.insert_asset()
    key = {"assetId": asset["assetId"], "batchId": asset["batchId"]}
    cc = ConfirmerQueue("CC", 1, "https://sqs.example/1/cc")
    first = queued_update(QueueFirst(cc), "2026-12-07T12:00:00.000Z")

    assert state.apply_update(key, first) is True
    assert state.apply_update(key, first) is False  # already queued
    assert postingest.item(asset)["queue"] == "CC"
    assert state.delete_if(key, completed_delete_condition(Complete(ConfirmerQueue("TC", 2, "https://x/tc")))) is False
    assert state.delete_if(key, completed_delete_condition(Complete(cc))) is True
    assert postingest.item(asset) is None
