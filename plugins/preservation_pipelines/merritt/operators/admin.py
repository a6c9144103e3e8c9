"""One administrative action on the queue per run, reporting exactly which nodes it changed.

A refused action (a move the state machine forbids, a job a worker has locked, a
target of the wrong kind) fails at once with ``AirflowFailException`` and writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from include.merritt.states import BatchState, JobState, TransitionError
from include.merritt.submission import NODE_NAME
from preservation_pipelines.merritt.operators.base import MerrittBaseOperator

# the queue (kazoo) is imported inside execute(): DAG parsing stays cheap.

ADMIN_ACTIONS = {  # action → what its target names
    "hold_collection": "profile",
    "release_collection": "profile",
    "freeze_queue": None,
    "thaw_queue": None,
    "requeue_job": "jid",
    "fail_job": "jid",
    "delete_job": "jid",
    "delete_batch": "bid",
    "update_reporting": "bid",
    "remove_completed_batches": None,
}
TARGET_PREFIXES = {"jid": "jid", "bid": "bid", "profile": ""}


class MerrittQueueAdminOperator(MerrittBaseOperator):
    """Run one administrative action on the queue and report exactly which nodes it changed."""

    template_fields = ("action", "target", "message", "older_than_days")

    def __init__(
        self,
        *,
        action: str,
        target: str = "",
        message: str = "",
        older_than_days: int | str = 30,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.action = action
        self.target = target
        self.message = message
        self.older_than_days = older_than_days

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.merritt.queue.admin import QueueAdmin
        from preservation_pipelines.merritt.queue.zookeeper import QueueError, QueueNodes, changes_as_dicts

        target = (self.target or "").strip()
        self._check_target(target)
        with self.zookeeper_hook as hook:
            nodes = QueueNodes(hook.get_conn())
            hook.retry(nodes.ensure_layout)
            try:
                changes = hook.retry(self._run, QueueAdmin(nodes), target)
            except (TransitionError, QueueError) as error:
                raise AirflowFailException(f"{self.action} {target}: refused: {error}") from None
        summary = {
            "action": self.action,
            "target": target,
            "changed": len(changes),
            "changes": changes_as_dicts(changes),
        }
        for change in changes:
            self.log.info("changed %s: %s -> %s", change.node, change.before, change.after)
        if not changes:
            self.log.info("%s %s: nothing to change", self.action, target)
        self.log.info("run summary: %s", summary)
        return summary

    def _check_target(self, target: str) -> None:
        if self.action not in ADMIN_ACTIONS:
            raise AirflowFailException(f"unknown action {self.action!r}; one of {', '.join(ADMIN_ACTIONS)}")
        kind = ADMIN_ACTIONS[self.action]
        if kind is None:
            return
        if not target.startswith(TARGET_PREFIXES[kind]) or not NODE_NAME.match(target):
            raise AirflowFailException(f"{self.action} needs a {kind} as target, not {target!r}")

    def _run(self, admin, target: str):
        message = self.message or f"{self.action} by an operator"
        if self.action == "hold_collection":
            return admin.hold_collection(target)
        if self.action == "release_collection":
            return admin.release_collection(target)
        if self.action == "freeze_queue":
            return admin.freeze_queue()
        if self.action == "thaw_queue":
            return admin.thaw_queue()
        if self.action == "requeue_job":
            return admin.jobs.requeue_job(target)
        if self.action == "fail_job":
            return admin.jobs.move_job(target, JobState.FAILED, message)
        if self.action == "delete_job":
            return admin.jobs.move_job(target, JobState.DELETED, message)
        if self.action == "delete_batch":
            return admin.delete_batch(target)
        if self.action == "update_reporting":
            return [admin.batches.move_batch(target, BatchState.UPDATE_REPORTING, message)]
        days = int(self.older_than_days)
        if days < 0:
            raise AirflowFailException(f"older_than_days must be 0 or more, not {days}")
        return admin.remove_completed_batches(timedelta(days=days))
