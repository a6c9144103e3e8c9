"""One administrative action on the queue per run, reporting exactly which nodes it changed.

A refused action (a move the state machine forbids, a job a worker has locked, a
target of the wrong kind, an argument out of its bounds) fails at once with
``AirflowFailException`` and writes nothing; ZooKeeper trouble is retried.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from include.merritt.states import BatchState, JobState, TransitionError
from include.merritt.submission import NODE_NAME
from include.merritt.text import first_forbidden, shown
from preservation_pipelines.merritt.operators.base import MerrittBaseOperator
from preservation_pipelines.merritt.operators.staging import STAGING_TIMEOUT

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
    "remove_unpublished_batch": "bid",
}
TARGET_PREFIXES = {"jid": "jid", "bid": "bid", "profile": ""}
MAX_OLDER_THAN_DAYS = 3650
MAX_MESSAGE_CHARACTERS = 1000


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
        unpublished_quiet_period: timedelta = STAGING_TIMEOUT,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.action = action
        self.target = target
        self.message = message
        self.older_than_days = older_than_days
        self.unpublished_quiet_period = unpublished_quiet_period

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.merritt.queue.admin import QueueAdmin
        from preservation_pipelines.merritt.queue.zookeeper import QueueError, QueueNodes, changes_as_dicts

        target = (self.target or "").strip()
        self._check_target(target)
        days = self._checked_days()
        message = self._checked_message()
        with self.zookeeper_hook as hook:
            nodes = QueueNodes(hook.get_conn())
            hook.retry(nodes.ensure_layout)
            admin = QueueAdmin(nodes)
            try:
                changes = hook.retry(self._run, admin, target, message, days)
            except (TransitionError, QueueError) as error:
                raise AirflowFailException(f"{self.action} {target}: refused: {error}") from None
        summary = {
            "action": self.action,
            "target": target,
            "changed": len(changes),
            "changes": changes_as_dicts(changes),
            **({"kept": list(dict.fromkeys(admin.kept))} if admin.kept else {}),
        }
        for change in changes:
            self.log.info("changed %s: %s -> %s", change.node, change.before, change.after)
        for reason in summary.get("kept", []):
            self.log.warning("kept %s", reason)
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
        if not target.startswith(TARGET_PREFIXES[kind]) or not NODE_NAME.fullmatch(target):
            raise AirflowFailException(f"{self.action} needs a {kind} as target, not {shown(target)}")

    def _checked_days(self) -> int:
        text = str(self.older_than_days).strip()
        if not text.isascii() or not text.isdigit() or int(text) > MAX_OLDER_THAN_DAYS:
            raise AirflowFailException(
                f"older_than_days must be a whole number from 0 to {MAX_OLDER_THAN_DAYS}, not {shown(self.older_than_days)}"
            )
        return int(text)

    def _checked_message(self) -> str:
        message = self.message or f"{self.action} by an operator"
        bad = first_forbidden(message)
        if len(message) > MAX_MESSAGE_CHARACTERS or bad is not None:
            raise AirflowFailException(
                f"message must be at most {MAX_MESSAGE_CHARACTERS} characters without control characters"
            )
        return message

    def _run(self, admin, target: str, message: str, days: int):
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
        if self.action == "remove_unpublished_batch":
            return admin.remove_unpublished_batch(target, self.unpublished_quiet_period)
        return admin.remove_completed_batches(timedelta(days=days))
