"""The resender: its pure decisions, then the whole pass against moto through the real hooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from include.postingest.resender import (
    StuckMessageResender,
    claim_update,
    retention_from_attribute,
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


def test_retention_comes_from_the_queue_with_two_weeks_as_fallback():
    assert retention_from_attribute("345600") == timedelta(days=4)
    assert retention_from_attribute(None) == FOURTEEN_DAYS
    assert retention_from_attribute("garbage") == FOURTEEN_DAYS
    assert retention_from_attribute("0") == FOURTEEN_DAYS


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
