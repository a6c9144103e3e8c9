"""The stream applier against moto and tansu, through the real hooks, with faults injected at hook boundaries."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary

from devstack import postingest_provisioning as provisioning
from include.postingest.applier import StateChangeApplier, UndeliveredMessagesError, UndeliveredNotificationsError
from include.postingest.stream import StreamNotAdvancingError, decode_stream_record, record_position
from preservation_pipelines.common.hooks.kafka import Deliveries, KafkaTopicProducerHook
from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook
from tests.dags.postingest.fixtures import postingest, repeat_the_last_record  # noqa: F401 - fixture

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def applier(world, state=None, publisher=None, delivery_timeout: float = 10.0) -> StateChangeApplier:
    return StateChangeApplier(
        state=state or world.state_hook(),
        queues=ConfirmerQueueHook(),
        publisher=publisher or KafkaTopicProducerHook(),
        config=world.queue_config(),
        topic=world.topic,
        delivery_timeout=delivery_timeout,
        clock=lambda: NOW,
    )


def crash_on_first_checkpoint(state: PostingestStateHook) -> PostingestStateHook:
    real = state.advance_checkpoint

    def advance_checkpoint(*args, **kwargs):
        state.advance_checkpoint = real
        raise RuntimeError("worker died before the checkpoint")

    state.advance_checkpoint = advance_checkpoint
    return state


def test_a_crash_before_the_checkpoint_never_advances_an_asset_twice(postingest):
    asset = postingest.insert_asset()
    applier(postingest).run()
    postingest.confirm("CC", '{"ocfl": 1}')

    with pytest.raises(RuntimeError, match="worker died"):
        applier(postingest, state=crash_on_first_checkpoint(postingest.state_hook())).run()
    replay = applier(postingest).run()

    assert replay["replayed"] == 1 and replay["advanced"] == 0
    assert len(postingest.queue_messages("TC")) == 1
    item = postingest.item(asset)
    assert item["queue"] == "TC" and item["lastQueued"] == "2026-11-23T12:00:00.000Z"
    disk_notices = [n for n in postingest.notifications(expected=3) if "custodial" in n["parameters"]["status"]]
    assert len(disk_notices) == 2
    assert disk_notices[0]["properties"]["messageId"] == disk_notices[1]["properties"]["messageId"]


def test_poison_records_are_parked_and_the_records_behind_them_applied(postingest):
    bad = postingest.insert_asset(input="{not json")
    good = postingest.insert_asset()
    state = postingest.state_hook()

    first = applier(postingest, state=state).run()
    second = applier(postingest).run()

    [parked] = first["parked"]
    assert parked["assetId"] == bad["assetId"] and "input is not valid JSON" in parked["error"]
    assert parked["sequenceNumber"].isdigit()
    assert postingest.item(good)["queue"] == "CC"
    assert "queue" not in postingest.item(bad)
    assert [m["assetId"] for m in postingest.queue_messages("CC")] == [good["assetId"]]
    assert [row["assetId"] for row in state.parked_records()] == [bad["assetId"]]
    assert second["parked"] == [] and second["records"] == 0  # parked once, never retried


def test_a_modify_without_its_old_image_is_parked_naming_the_asset(postingest):
    asset = postingest.insert_asset()
    applier(postingest).run()
    postingest.confirm("CC", "{}")
    state = postingest.state_hook()
    real_read = state.read_shard

    def read_without_old_images(*args, **kwargs):
        for page in real_read(*args, **kwargs):
            for raw in page.records:
                if raw["eventName"] == "MODIFY":
                    del raw["dynamodb"]["OldImage"]
            yield page

    state.read_shard = read_without_old_images
    summary = applier(postingest, state=state).run()

    assert len(summary["parked"]) == 1
    assert summary["parked"][0]["assetId"] == asset["assetId"]
    assert "MODIFY without the old image" in summary["parked"][0]["error"]
    assert postingest.queue_messages("TC") == []


def test_an_item_deleted_between_read_and_update_is_not_recreated_or_announced(postingest):
    asset = postingest.insert_asset()
    state = postingest.state_hook()
    real_read = state.current_items

    def read_then_lose_the_items(keys):
        items = real_read(keys)
        for key in keys:
            postingest.state_table.delete_item(Key=key)
        return items

    state.current_items = read_then_lose_the_items
    summary = applier(postingest, state=state).run()

    assert summary["lost_races"] == 1 and summary["notifications"] == 0
    assert postingest.item(asset) is None
    assert postingest.notifications(expected=0, timeout=2) == []


def test_with_the_broker_down_nothing_is_checkpointed_and_the_retry_sends_nothing_twice(postingest, devstack, kafka):
    from confluent_kafka.admin import AdminClient

    asset = postingest.insert_asset()
    state = postingest.state_hook()
    devstack.stop(["kafka"])
    try:
        with pytest.raises(UndeliveredNotificationsError, match=f"not delivered to topic {postingest.topic}"):
            applier(postingest, state=state, delivery_timeout=2).run()
    finally:
        devstack.start(["kafka"])
    provisioning.create_topic(AdminClient({"bootstrap.servers": kafka.bootstrap_servers}), postingest.topic)

    assert state.shard_positions(state.stream_arn()) == {}
    retry = applier(postingest).run()

    assert retry["replayed"] == 1
    assert len(postingest.queue_messages("CC")) == 1
    [notice] = postingest.notifications(expected=1)
    assert notice["parameters"] == {
        "assetId": asset["assetId"],
        "status": "Asset has been ingested to the Preservation System.",
    }


class RefusingBroker:
    """A producer whose every message the broker refuses."""

    def __init__(self) -> None:
        self.tags: list[str] = []

    def produce(self, topic: str, *, key: str, value: str, tag: str) -> None:
        self.tags.append(tag)

    def confirm(self, timeout: float) -> Deliveries:
        refused, self.tags = self.tags, []
        return Deliveries(failed={tag: "Broker: Topic authorization failed" for tag in refused})


def test_a_refused_notification_is_named_and_its_page_not_checkpointed(postingest):
    asset = postingest.insert_asset()
    state = postingest.state_hook()
    expected = (
        f"1 notification\\(s\\) not delivered to topic {postingest.topic} within 10s: "
        f"INSERT of asset {asset['assetId']} .*: Broker: Topic authorization failed"
    )
    with pytest.raises(UndeliveredNotificationsError, match=expected):
        applier(postingest, state=state, publisher=RefusingBroker()).run()
    assert state.shard_positions(state.stream_arn()) == {}


def test_a_failing_queue_send_leaves_the_record_for_the_retry(postingest, monkeypatch):
    asset = postingest.insert_asset()
    good_config = os.environ[f"AIRFLOW_VAR_{postingest.variable.upper()}"]
    missing_queue = good_config.replace(postingest.queue_urls["CC"], postingest.queue_urls["CC"] + "-gone")
    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", missing_queue)
    state = postingest.state_hook()

    with pytest.raises(
        UndeliveredMessagesError,
        match=f"1 confirmer message\\(s\\) not taken by SQS: INSERT of asset {asset['assetId']}.*does not exist",
    ):
        applier(postingest, state=state).run()
    assert "queue" not in postingest.item(asset)
    assert state.shard_positions(state.stream_arn()) == {}

    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", good_config)
    retry = applier(postingest).run()

    assert retry["queued_first"] == 1 and postingest.item(asset)["queue"] == "CC"
    assert len(postingest.queue_messages("CC")) == 1


def checkpoint_and_last_record(state: PostingestStateHook) -> tuple[str, str]:
    """The shard's checkpoint and the sequence number of the last record in the stream."""
    arn = state.stream_arn()
    [shard] = state.shards(arn)
    positions = [
        record_position(raw) for page in state.read_shard(arn, shard["ShardId"], None, 100) for raw in page.records
    ]
    return state.shard_positions(arn)[shard["ShardId"]]["sequenceNumber"], positions[-1]


def test_a_stream_that_leads_back_to_records_read_fails_the_run_by_shard_after_checkpointing_what_was_applied(
    postingest,
):
    asset = postingest.insert_asset()
    state = postingest.state_hook()
    arn = state.stream_arn()
    [shard] = state.shards(arn)
    repeat_the_last_record(state.streams, arn, shard["ShardId"])

    with pytest.raises(StreamNotAdvancingError, match=f"shard {shard['ShardId']}: .*the stream does not advance"):
        applier(postingest, state=state).run()

    assert postingest.item(asset)["queue"] == "CC" and len(postingest.queue_messages("CC")) == 1
    checkpoint, last = checkpoint_and_last_record(postingest.state_hook())
    assert checkpoint == last
    assert applier(postingest).run()["records"] == 0  # a run on a sound stream has nothing left to do


def test_poison_records_of_every_kind_are_parked_by_name_between_applied_ones(postingest):
    postingest.limit_messages("CC", 1024)
    before = postingest.insert_asset()
    poison = [
        (postingest.insert_asset(input=Decimal(7)), "input is a number, not a string"),
        (postingest.insert_asset(input=Binary(b"{}")), "input is binary, not a string"),
        (postingest.insert_asset(correlationId={"c-1", "c-2"}), "correlationId is a set, not a string"),
        (postingest.insert_asset(input="[" * 50_000 + "]" * 50_000), "input is JSON nested too deeply"),
        (postingest.insert_asset(input=json.dumps({"blob": "x" * 2000})), "over the 1024 it accepts"),
        (postingest.insert_asset(padding="x" * 399_800), "after the update, over DynamoDB's 400000"),
    ]
    after = postingest.insert_asset()
    state = postingest.state_hook()

    first = applier(postingest, state=state).run()
    rerun = applier(postingest).run()

    parked = {entry["assetId"]: entry["error"] for entry in first["parked"]}
    assert list(parked) == [asset["assetId"] for asset, _ in poison]
    for asset, reason in poison:
        assert reason in parked[asset["assetId"]] and f"asset {asset['assetId']}" in parked[asset["assetId"]]
        assert "queue" not in postingest.item(asset)
    assert first["queued_first"] == 2
    assert sorted(m["assetId"] for m in postingest.queue_messages("CC")) == sorted(
        [before["assetId"], after["assetId"]]
    )
    assert sorted(row["assetId"] for row in state.parked_records()) == sorted(parked)
    checkpoint, last = checkpoint_and_last_record(state)
    assert checkpoint == last
    assert rerun["records"] == 0 and rerun["parked"] == []  # neither applied nor parked again
    assert postingest.queue_messages("CC") == []
    announced = {n["key"] for n in postingest.notifications(expected=2, timeout=5)}
    assert announced == {before["assetId"], after["assetId"]}


def test_records_dynamodb_could_not_have_written_are_parked_and_the_page_goes_on(postingest):
    corrupted = postingest.insert_asset()
    good = postingest.insert_asset()
    state = postingest.state_hook()
    real_read = state.read_shard

    def read_with_corrupted_records(*args, **kwargs):
        for page in real_read(*args, **kwargs):
            for raw in page.records:
                if raw["dynamodb"]["Keys"]["assetId"] == {"S": corrupted["assetId"]}:
                    raw["dynamodb"]["NewImage"]["input"] = {"X": ["?"]}
            inserted = [raw["dynamodb"]["Keys"]["assetId"]["S"] for raw in page.records if raw["eventName"] == "INSERT"]
            if good["assetId"] in inserted:
                page.records.insert(0, "not a record at all")
            yield page

    state.read_shard = read_with_corrupted_records
    summary = applier(postingest, state=state).run()

    [not_a_record, bad_type] = summary["parked"]
    assert not_a_record["assetId"] == "<no assetId>" and "not a stream record" in not_a_record["error"]
    assert bad_type["assetId"] == corrupted["assetId"]
    assert "NewImage.input: not a DynamoDB value of type X" in bad_type["error"]
    assert postingest.item(good)["queue"] == "CC" and "queue" not in postingest.item(corrupted)
    checkpoint, last = checkpoint_and_last_record(postingest.state_hook())
    assert checkpoint == last


def test_a_record_whose_effects_were_done_is_parked_on_replay_and_not_done_again(postingest):
    asset = postingest.insert_asset()
    applier(postingest).run()
    postingest.confirm("CC", '{"ocfl": 1}')
    with pytest.raises(RuntimeError, match="worker died"):
        applier(postingest, state=crash_on_first_checkpoint(postingest.state_hook())).run()
    postingest.state_table.update_item(
        Key={"assetId": asset["assetId"], "batchId": asset["batchId"]},
        UpdateExpression="SET correlationId = :number",
        ExpressionAttributeValues={":number": Decimal(5)},
    )

    replay = applier(postingest).run()
    rerun = applier(postingest).run()

    [parked] = replay["parked"]
    assert parked["assetId"] == asset["assetId"] and "correlationId is a number, not a string" in parked["error"]
    assert replay["advanced"] == replay["replayed"] == 0
    assert len(postingest.queue_messages("TC")) == 1 and postingest.item(asset)["queue"] == "TC"
    assert rerun["records"] == 0 and rerun["parked"] == []


INGESTED = "Asset has been ingested to the Preservation System."
ON_DISK = "Asset has been written to custodial copy disk."


def test_assets_go_together_and_each_assets_records_keep_their_order(postingest):
    assets = [postingest.insert_asset() for _ in range(12)]
    with pytest.raises(RuntimeError, match="worker died"):
        applier(postingest, state=crash_on_first_checkpoint(postingest.state_hook())).run()
    postingest.confirm("CC", '{"ocfl": 1}')

    # one page holds each asset's INSERT (applied before the crash) and its CC result
    replay = StateChangeApplier(
        state=postingest.state_hook(),
        queues=ConfirmerQueueHook(),
        publisher=KafkaTopicProducerHook(),
        config=postingest.queue_config(),
        topic=postingest.topic,
        concurrency=4,
        clock=lambda: NOW,
    ).run(page_size=1000)

    assert (replay["replayed"], replay["advanced"], replay["concurrency"]) == (12, 12, 4)
    ids = sorted(asset["assetId"] for asset in assets)
    assert sorted(m["assetId"] for m in postingest.queue_messages("TC")) == ids
    assert all(postingest.item(asset)["queue"] == "TC" for asset in assets)
    by_asset: dict[str, list[dict]] = {}
    for notice in postingest.notifications(expected=36):
        by_asset.setdefault(notice["key"], []).append(notice)
    assert sorted(by_asset) == ids
    for notices in by_asset.values():
        assert [n["parameters"]["status"] for n in notices] == [INGESTED, INGESTED, ON_DISK]
        assert notices[0]["properties"]["messageId"] == notices[1]["properties"]["messageId"]


def test_a_failed_write_checkpoints_only_the_records_before_it_and_the_retry_finishes(postingest):
    assets = [postingest.insert_asset() for _ in range(6)]
    state = postingest.state_hook()
    real_update = state.apply_update

    def update_failing_for_the_fourth(key, update):
        if key["assetId"] == assets[3]["assetId"]:
            raise ConnectionError("DynamoDB went away")
        return real_update(key, update)

    state.apply_update = update_failing_for_the_fourth
    with pytest.raises(ConnectionError, match="DynamoDB went away"):
        applier(postingest, state=state).run()

    arn = postingest.state_hook().stream_arn()
    [shard] = state.shards(arn)
    inserts = [
        decode_stream_record(raw)
        for page in state.read_shard(arn, shard["ShardId"], None, 100)
        for raw in page.records
        if raw["eventName"] == "INSERT"
    ]
    assert [record.keys["assetId"] for record in inserts] == [asset["assetId"] for asset in assets]
    assert state.shard_positions(arn)[shard["ShardId"]]["sequenceNumber"] == inserts[2].sequence_number
    retry = applier(postingest).run()

    assert (retry["queued_first"], retry["replayed"]) == (1, 2)  # the fourth; the two after it, done before
    assert all(postingest.item(asset)["queue"] == "CC" for asset in assets)
    sent = Counter(m["assetId"] for m in postingest.queue_messages("CC"))
    assert sent == {
        asset["assetId"]: 2 if asset is assets[3] else 1 for asset in assets
    }  # its send preceded the failure
    announced = Counter(n["key"] for n in postingest.notifications(expected=8))
    assert announced == {asset["assetId"]: 2 if asset in assets[4:] else 1 for asset in assets}


def test_a_rounds_messages_go_per_queue_in_batches_and_its_items_are_read_at_once(postingest):
    assets = [postingest.insert_asset() for _ in range(25)]
    state, queues = postingest.state_hook(), ConfirmerQueueHook()
    reads = Counter()
    state.get_conn().meta.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: reads.update([model.name])
    )

    summary = StateChangeApplier(
        state=state,
        queues=queues,
        publisher=KafkaTopicProducerHook(),
        config=postingest.queue_config(),
        topic=postingest.topic,
        clock=lambda: NOW,
    ).run()

    assert summary["queued_first"] == 25
    assert queues.calls == 2 + 3  # GetQueueAttributes of CC and TC; SendMessageBatch of 10, 10 and 5
    assert reads["BatchGetItem"] == 1 and reads["GetItem"] == 0 and reads["UpdateItem"] == 25
    assert sorted(m["assetId"] for m in postingest.queue_messages("CC")) == sorted(a["assetId"] for a in assets)


def test_throttled_batch_entries_are_sent_again_and_the_rest_not_twice(postingest):
    from tests.include.postingest.test_resender import FlakySqs

    assets = [postingest.insert_asset() for _ in range(3)]
    queues = ConfirmerQueueHook(retry_delay=0.01)
    flaky = FlakySqs(queues.get_conn(), throttle_once={"1"}, reject=set())
    queues.get_conn = lambda: flaky

    summary = StateChangeApplier(
        state=postingest.state_hook(),
        queues=queues,
        publisher=KafkaTopicProducerHook(),
        config=postingest.queue_config(),
        topic=postingest.topic,
        clock=lambda: NOW,
    ).run()

    assert summary["queued_first"] == 3 and queues.calls == 2 + 2  # the batch, then the throttled entry again
    assert sorted(m["assetId"] for m in postingest.queue_messages("CC")) == sorted(a["assetId"] for a in assets)
