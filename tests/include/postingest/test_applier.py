"""The stream applier and the resender against moto and tansu, with faults injected at hook boundaries."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime

import pytest

from include.postingest import provisioning
from include.postingest.config import parse_queue_config
from preservation_pipelines.postingest.hooks.state import (
    ConfirmerQueueHook,
    NotificationPublisherHook,
    PostingestStateHook,
)
from preservation_pipelines.postingest.processing import StateChangeApplier, StuckMessageResender
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def state_hook(world) -> PostingestStateHook:
    hook = PostingestStateHook(table_name=world.table, checkpoint_table=world.checkpoint_table)
    hook.ensure_checkpoint_table()
    return hook


def config(world):
    return parse_queue_config(os.environ[f"AIRFLOW_VAR_{world.variable.upper()}"])


def applier(world, state=None, delivery_timeout: float = 10.0) -> StateChangeApplier:
    return StateChangeApplier(
        state=state or state_hook(world),
        queues=ConfirmerQueueHook(),
        publisher=NotificationPublisherHook(delivery_timeout=delivery_timeout),
        config=config(world),
        topic=world.topic,
        clock=lambda: NOW,
    )


def resender(world, state=None, queues=None) -> StuckMessageResender:
    return StuckMessageResender(
        state=state or state_hook(world), queues=queues or ConfirmerQueueHook(), config=config(world), clock=lambda: NOW
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
        applier(postingest, state=crash_on_first_checkpoint(state_hook(postingest))).run()
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
    state = state_hook(postingest)

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
    state = state_hook(postingest)
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
    state = state_hook(postingest)
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
    state = state_hook(postingest)
    devstack.stop(["kafka"])
    try:
        with pytest.raises(ConnectionError, match=f"not delivered to topic {postingest.topic}"):
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


def test_a_failing_queue_send_leaves_the_record_for_the_retry(postingest, monkeypatch):
    from botocore.exceptions import ClientError

    asset = postingest.insert_asset()
    good_config = os.environ[f"AIRFLOW_VAR_{postingest.variable.upper()}"]
    missing_queue = good_config.replace(postingest.queue_urls["CC"], postingest.queue_urls["CC"] + "-gone")
    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", missing_queue)
    state = state_hook(postingest)

    with pytest.raises(ClientError, match="does not exist"):
        applier(postingest, state=state).run()
    assert "queue" not in postingest.item(asset)
    assert state.shard_positions(state.stream_arn()) == {}

    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", good_config)
    retry = applier(postingest).run()

    assert retry["queued_first"] == 1 and postingest.item(asset)["queue"] == "CC"
    assert len(postingest.queue_messages("CC")) == 1


class FlakySqs:
    """The real SQS client, except that chosen batch entries fail once (throttled) or always (sender fault)."""

    def __init__(self, client, throttle_once: set[str], reject: set[str]) -> None:
        self.client = client
        self.throttle_once = set(throttle_once)
        self.reject = reject

    def __getattr__(self, name):
        return getattr(self.client, name)

    def send_message_batch(self, QueueUrl, Entries):
        failing = {e["Id"] for e in Entries} & (self.throttle_once | self.reject)
        passed = [e for e in Entries if e["Id"] not in failing]
        response = self.client.send_message_batch(QueueUrl=QueueUrl, Entries=passed) if passed else {}
        failed = [
            {
                "Id": i,
                "SenderFault": i in self.reject,
                "Code": "InvalidMessageContents" if i in self.reject else "ThrottlingException",
            }
            for i in sorted(failing)
        ]
        self.throttle_once -= failing
        return {"Successful": response.get("Successful", []), "Failed": failed}


def test_partial_batch_failures_are_retried_or_put_back_for_the_next_try(postingest):
    stuck = [postingest.insert_asset(queue="CC", lastQueued=f"2020-01-0{n}T00:00:00.000Z") for n in range(1, 4)]
    queues = ConfirmerQueueHook(retry_delay=0.01)
    flaky = FlakySqs(queues.get_conn(), throttle_once={"0"}, reject={"2"})
    queues.get_conn = lambda: flaky

    summary = resender(postingest, queues=queues).run()

    assert summary["queues"]["CC"] | {"cutoff": None} == {
        "cutoff": None,
        "stale": 3,
        "resent": 2,
        "claimed_elsewhere": 0,
        "failed": 1,
        "unsendable": 0,
    }
    assert sorted(m["assetId"] for m in postingest.queue_messages("CC")) == sorted(a["assetId"] for a in stuck[:2])
    assert summary["send_failures"][0]["assetId"] == stuck[2]["assetId"]
    assert postingest.item(stuck[2])["lastQueued"] == "2020-01-03T00:00:00.000Z"  # put back: found again next time
    assert postingest.item(stuck[0])["lastQueued"] == "2026-11-23T12:00:00.000Z"
    assert queues.calls == 4  # GetQueueAttributes of CC and TC, the batch, the retry of the throttled entry


def test_overlapping_resender_runs_send_each_stuck_item_once(postingest):
    postingest.insert_asset(queue="CC", lastQueued="2020-01-01T00:00:00.000Z")
    first_state = state_hook(postingest)

    def read_then_let_another_run_finish(alias, cutoff):
        items = list(first_state.stale_items(alias, cutoff))
        resender(postingest).run()
        yield from items

    first = StuckMessageResender(
        state=first_state,
        queues=ConfirmerQueueHook(),
        config=config(postingest),
        clock=lambda: NOW,
        stale_items=read_then_let_another_run_finish,
    ).run()

    assert first["queues"]["CC"]["claimed_elsewhere"] == 1 and first["queues"]["CC"]["resent"] == 0
    assert len(postingest.queue_messages("CC")) == 1
