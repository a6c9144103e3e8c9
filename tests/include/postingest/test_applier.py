"""The stream applier against moto and tansu, through the real hooks, with faults injected at hook boundaries."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime

import pytest

from devstack import postingest_provisioning as provisioning
from include.postingest.applier import StateChangeApplier, UndeliveredNotificationsError
from preservation_pipelines.common.hooks.kafka import Deliveries, KafkaTopicProducerHook
from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture

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
            page.records = [
                dataclasses.replace(r, old_image=None) if r.event_name == "MODIFY" else r for r in page.records
            ]
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
    real_read = state.current_item

    def read_then_lose_the_item(key):
        item = real_read(key)
        postingest.state_table.delete_item(Key=key)
        return item

    state.current_item = read_then_lose_the_item
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
    from botocore.exceptions import ClientError

    asset = postingest.insert_asset()
    good_config = os.environ[f"AIRFLOW_VAR_{postingest.variable.upper()}"]
    missing_queue = good_config.replace(postingest.queue_urls["CC"], postingest.queue_urls["CC"] + "-gone")
    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", missing_queue)
    state = postingest.state_hook()

    with pytest.raises(ClientError, match="does not exist"):
        applier(postingest, state=state).run()
    assert "queue" not in postingest.item(asset)
    assert state.shard_positions(state.stream_arn()) == {}

    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", good_config)
    retry = applier(postingest).run()

    assert retry["queued_first"] == 1 and postingest.item(asset)["queue"] == "CC"
    assert len(postingest.queue_messages("CC")) == 1
