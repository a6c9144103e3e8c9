"""The resender: its pure decisions, then the whole pass against moto through the real hooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from include.postingest.resender import (
    StuckMessageResender,
    claim_update,
    stale_cutoff,
    unclaim_update,
)
from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture

SEED_NOW = datetime(2025, 6, 19, 16, 24, tzinfo=UTC)
FOURTEEN_DAYS = timedelta(days=14)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def resender(world, state=None, queues=None) -> StuckMessageResender:
    return StuckMessageResender(
        state=state or world.state_hook(),
        queues=queues or ConfirmerQueueHook(),
        config=world.queue_config(),
        clock=lambda: NOW,
    )


def test_the_seed_example_cutoff_splits_its_two_rows():
    cutoff = stale_cutoff(SEED_NOW, FOURTEEN_DAYS)

    assert cutoff == "2025-06-05T16:24:00.000Z"
    assert "2025-06-05T10:00" < cutoff
    assert not "2025-06-10T10:00" < cutoff


def test_claim_requires_the_value_read_and_unclaim_requires_the_claim():
    claim = claim_update("CC", "2025-06-05T10:00", "2025-06-19T16:24:00.000Z").as_boto3_params()
    unclaim = unclaim_update("2025-06-19T16:24:00.000Z", "2025-06-05T10:00").as_boto3_params()

    assert claim == {
        "UpdateExpression": "SET lastQueued = :now",
        "ConditionExpression": "#queue = :queue AND lastQueued = :read",
        "ExpressionAttributeNames": {"#queue": "queue"},
        "ExpressionAttributeValues": {":now": "2025-06-19T16:24:00.000Z", ":queue": "CC", ":read": "2025-06-05T10:00"},
    }
    assert unclaim == {
        "UpdateExpression": "SET lastQueued = :read",
        "ConditionExpression": "lastQueued = :claimed",
        "ExpressionAttributeValues": {":read": "2025-06-05T10:00", ":claimed": "2025-06-19T16:24:00.000Z"},
    }


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
    first_state = postingest.state_hook()

    def read_then_let_another_run_finish(alias, cutoff):
        items = list(first_state.stale_items(alias, cutoff))
        resender(postingest).run()
        yield from items

    first = StuckMessageResender(
        state=first_state,
        queues=ConfirmerQueueHook(),
        config=postingest.queue_config(),
        clock=lambda: NOW,
        stale_items=read_then_let_another_run_finish,
    ).run()

    assert first["queues"]["CC"]["claimed_elsewhere"] == 1 and first["queues"]["CC"]["resent"] == 0
    assert len(postingest.queue_messages("CC")) == 1


STUCK_SINCE = "2020-01-01T00:00:00.000Z"


def test_poison_items_are_reported_by_name_and_every_other_item_is_resent(postingest):
    postingest.limit_messages("TC", 1024)
    good_cc = [postingest.insert_asset(queue="CC", lastQueued=STUCK_SINCE) for _ in range(2)]
    good_tc = postingest.insert_asset(queue="TC", lastQueued=STUCK_SINCE, result_CC='{"ocfl": 1}')
    poison = {
        postingest.insert_asset(queue="CC", lastQueued=STUCK_SINCE, input=Decimal(7))["assetId"]: (
            "input is a number, not a string"
        ),
        postingest.insert_asset(queue="TC", lastQueued=STUCK_SINCE, result_CC={"ocfl": Decimal(1)})["assetId"]: (
            "result_CC is a map, not a string"
        ),
        postingest.insert_asset(queue="TC", lastQueued=STUCK_SINCE, result_CC="r" * 2000)["assetId"]: (
            "the message for queue TC has 2152 bytes, over the 1024 it accepts"
        ),
    }

    summary = resender(postingest).run()

    assert {entry["assetId"]: entry["error"] for entry in summary["unsendable"]} == {
        asset_id: f"asset {asset_id}: {reason}" for asset_id, reason in poison.items()
    }
    assert (summary["queues"]["CC"]["resent"], summary["queues"]["TC"]["resent"]) == (2, 1)
    assert sorted(m["assetId"] for m in postingest.queue_messages("CC")) == sorted(a["assetId"] for a in good_cc)
    assert [m["assetId"] for m in postingest.queue_messages("TC")] == [good_tc["assetId"]]
    for asset_id in poison:
        [item] = postingest.state_table.query(
            KeyConditionExpression="assetId = :a", ExpressionAttributeValues={":a": asset_id}
        )["Items"]
        assert item["lastQueued"] == STUCK_SINCE  # not claimed: the next run reports it again


def test_batches_stay_within_the_size_the_queue_accepts(postingest):
    postingest.limit_messages("CC", 1024)
    for _ in range(5):
        postingest.insert_asset(queue="CC", lastQueued=STUCK_SINCE, input=json.dumps({"note": "n" * 300}))
    queues = ConfirmerQueueHook()

    summary = resender(postingest, queues=queues).run()

    assert summary["queues"]["CC"]["resent"] == 5 and summary["send_failures"] == summary["unsendable"] == []
    assert len(postingest.queue_messages("CC")) == 5
    assert queues.calls == 2 + 3  # the attributes of CC and TC; three batches of at most two ~430-byte messages
