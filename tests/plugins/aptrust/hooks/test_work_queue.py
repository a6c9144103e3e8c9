"""The work-queue hook on the real broker: ids published per topic, nothing acknowledged when it is down."""

from __future__ import annotations

import uuid

from tests.include.aptrust.fixtures import topic_values


def test_publishes_work_item_ids_and_reports_the_acknowledged(kafka):
    from preservation_pipelines.aptrust.hooks.work_queue import WorkQueueHook

    topic = f"restore_object_{uuid.uuid4().hex[:8]}"
    hook = WorkQueueHook()
    hook.ensure_topics([topic])
    acknowledged, failed = hook.publish_work_items([(topic, 41), (topic, 42)])

    assert (sorted(acknowledged), failed) == ([41, 42], {})
    assert topic_values(kafka, topic) == ["41", "42"]


def test_nothing_is_acknowledged_while_the_broker_is_down(kafka, devstack):
    from preservation_pipelines.aptrust.hooks.work_queue import WorkQueueHook

    devstack.stop(["kafka"])
    try:
        acknowledged, failed = WorkQueueHook(delivery_timeout_ms=2000).publish_work_items([("delete_item", 7)])
    finally:
        devstack.start(["kafka"])
    assert acknowledged == []
    assert list(failed) == [7]
