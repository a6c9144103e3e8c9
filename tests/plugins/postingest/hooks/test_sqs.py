"""The confirmer queue hook against moto's SQS."""

from __future__ import annotations

import json

import pytest

from include.postingest.limits import SQS_MAXIMUM_RETENTION
from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture


def test_batches_are_sent_and_retention_is_read(postingest):
    queues = ConfirmerQueueHook()
    bodies = [json.dumps({"n": n}) for n in range(10)]

    failures = queues.send_batch(postingest.queue_urls["CC"], bodies)

    assert failures == {}
    assert sorted(m["n"] for m in postingest.queue_messages("CC")) == list(range(10))
    assert queues.queue_attributes(postingest.queue_urls["CC"]) == {
        "MessageRetentionPeriod": str(int(SQS_MAXIMUM_RETENTION.total_seconds())),
        "MaximumMessageSize": "1048576",
    }
    assert queues.calls == 2
    with pytest.raises(ValueError, match="at most 10 entries"):
        queues.send_batch(postingest.queue_urls["CC"], bodies + ["{}"])


def test_a_missing_queue_fails_every_entry_after_the_retries(postingest):
    queues = ConfirmerQueueHook(batch_attempts=2, retry_delay=0)
    missing = postingest.queue_urls["CC"] + "-gone"

    failures = queues.send_batch(missing, ["{}", "{}"])

    assert list(failures) == [0, 1] and "queue does not exist" in failures[0]
    assert queues.calls == 2
    assert queues.queue_attributes(missing) == {}


def test_a_batch_limit_below_ten_is_held_to(postingest):
    queues = ConfirmerQueueHook(batch_limit=1)

    assert queues.send_batch(postingest.queue_urls["CC"], ["{}"]) == {}
    with pytest.raises(ValueError, match="at most 1 entries"):
        queues.send_batch(postingest.queue_urls["CC"], ["{}", "{}"])
