"""Queueing WorkItems on the real registry and broker: ``queued_at`` only for what the broker acknowledged."""

from __future__ import annotations

import pytest

from tests.include.aptrust.fixtures import registry, rows, short_delivery_timeout  # noqa: F401 - fixtures


def test_unacknowledged_work_items_fail_the_task_by_id_and_stay_unqueued(
    registry, devstack, short_delivery_timeout, monkeypatch
):
    from preservation_pipelines.aptrust.operators.work_items import QueueWorkItemsOperator, WorkItemsNotQueued
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook

    inst = registry.institution("queue.edu")
    bag = registry.intellectual_object(inst, "queue.edu/bag")
    work_item_id = registry.work_item(inst, bag, "Delete", "Pending")
    queue = QueueWorkItemsOperator(
        task_id="queue", work_item_ids=[work_item_id], work_queue_conn_id=short_delivery_timeout
    )
    # the topics exist; then the broker goes away before the message is delivered
    monkeypatch.setattr(KafkaTopicProducerHook, "ensure_topics", lambda self, topics: None)
    devstack.stop(["kafka"])
    try:
        with pytest.raises(WorkItemsNotQueued, match=rf"WorkItems \[{work_item_id}\] .*un-queued for the retry"):
            queue.execute({})
    finally:
        devstack.start(["kafka"])

    [item] = rows(registry, "SELECT queued_at FROM work_items WHERE id = %(id)s", {"id": work_item_id})
    assert item["queued_at"] is None
