"""Queueing WorkItems for the preservation workers: each id on its action's topic, ``queued_at`` on the ack."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator

# Longer than the producer connection's message.timeout.ms (15 s in airflow_settings.yaml),
# so by then the broker has acknowledged each message or librdkafka has given it up.
CONFIRM_TIMEOUT_SECONDS = 20.0


class WorkItemsNotQueued(RuntimeError):
    """The broker acknowledged fewer than all WorkItems; the others stay un-queued for the retry."""


class QueueWorkItemsOperator(AptrustBaseOperator):
    """Publish WorkItems not queued yet to their action's topic; ``queued_at`` only after the ack.

    Items already queued are skipped, so a retry after a broker failure publishes each
    item once. Fails (to be retried) if the broker acknowledged fewer than all.
    """

    template_fields = ("work_item_ids",)

    def __init__(self, *, work_item_ids: Sequence[int] | Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.work_item_ids = work_item_ids

    def execute(self, context) -> dict[str, Any]:
        ids = sorted(int(work_item_id) for work_item_id in self.work_item_ids or [])
        with self.registry.unqueued_work_items(ids) as (unqueued, mark_queued):
            acknowledged, failed = self._publish(unqueued)
            mark_queued(acknowledged)
        summary = {
            "requested": len(ids),
            "queued": sorted(acknowledged),
            "already_queued": len(ids) - len(unqueued),
            "not_acknowledged": sorted(set(row["id"] for row in unqueued) - set(acknowledged)),
        }
        self.log.info("queue summary: %s", summary)
        if summary["not_acknowledged"]:
            raise WorkItemsNotQueued(
                f"broker did not acknowledge WorkItems {summary['not_acknowledged']} "
                f"({'; '.join(sorted(set(failed.values()))) or 'timed out'}); they stay un-queued for the retry"
            )
        return summary

    def _publish(self, work_items: Sequence[dict[str, Any]]) -> tuple[list[int], dict[int, str]]:
        """Each WorkItem's id (key and value) on its action's topic; returns (acknowledged ids, {id: error})."""
        from include.aptrust.work_items import topic_for

        if not work_items:
            return [], {}
        topics = {row["id"]: topic_for(row["action"]) for row in work_items}
        self.work_queue.ensure_topics(topics.values())
        for work_item_id, topic in topics.items():
            self.work_queue.produce(topic, key=str(work_item_id), value=str(work_item_id), tag=work_item_id)
        deliveries = self.work_queue.confirm(CONFIRM_TIMEOUT_SECONDS)
        if deliveries.unconfirmed:
            self.log.warning(
                "%d message(s) neither acknowledged nor failed after %.0f s",
                deliveries.unconfirmed,
                CONFIRM_TIMEOUT_SECONDS,
            )
        return deliveries.acknowledged, deliveries.failed
