"""Operators of the Merritt queue DAGs: validate and stage a submission, report batches, administer the queue.

Bad input (a submission, a manifest, an admin target, a move the state machine
refuses) fails the task at once with ``AirflowFailException``: retrying cannot fix it.
ZooKeeper trouble (unreachable, connection lost, session expired) is retried, first by
the hook across reconnects, then by Airflow's task retries; every step is idempotent.
"""

from __future__ import annotations

import html
import time
import uuid
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException

# kazoo, requests and the queue are imported inside execute(): DAG parsing stays cheap.

PROFILES_VARIABLE = "merritt_profiles"
SUBMISSION_UUID_NAMESPACE = uuid.UUID("5b0f6a52-6f1d-4b55-9d0e-6d6572726974")
PROGRESS_EVERY_SECONDS = 5.0
FAILED_JOBS_IN_SUMMARY = 20
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


def default_submission_uuid(dag_id: str, run_id: str) -> str:
    """The same uuid for every try of a run: clearing or retrying never stages a submission twice."""
    return str(uuid.uuid5(SUBMISSION_UUID_NAMESPACE, f"{dag_id}/{run_id}"))


def fetch_manifest(url: str, limit: int) -> bytes:
    """GET a manifest, reading at most ``limit + 1`` bytes so an oversized one is refused, not loaded."""
    import requests

    with requests.get(url, stream=True, timeout=(10, 60)) as response:
        response.raise_for_status()
        data = bytearray()
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > limit:
                break
        return bytes(data)


class _ProgressLog:
    """Logs done/total, rate and ETA at most every few seconds, and at the end."""

    def __init__(self, log) -> None:
        self.log = log
        self.began = time.monotonic()
        self.last = 0.0

    def __call__(self, step: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        rate = done / max(now - self.began, 1e-6)
        eta = (total - done) / rate if rate else 0
        self.log.info("%s: %d/%d (%.0f/s, ETA %.0fs)", step, done, total, rate, eta)


class MerrittSubmissionOperator(BaseOperator):
    """Validate a submission (the DAG's params/conf) and its manifest; with ``stage=True`` also stage it.

    Nothing is written unless every field and every manifest row is valid. The
    submission uuid defaults to one derived from the DAG run, so a retried or cleared
    run finds the batch it staged (``/batch-uuids/<uuid>``) instead of staging again.
    """

    template_fields = ("submission",)

    def __init__(
        self,
        *,
        stage: bool,
        submission: dict[str, Any] | None = None,
        zk_conn_id: str = "merritt_zk",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.stage = stage
        self.submission = submission
        self.zk_conn_id = zk_conn_id

    def execute(self, context) -> dict[str, Any]:
        submission, jobs, manifest_rows = self.validated(context)
        summary: dict[str, Any] = {
            "submission_uuid": submission.uuid,
            "profile": submission.profile,
            "type": submission.type,
            "manifest_rows": manifest_rows,
            "jobs": len(jobs),
            "priority": jobs[0].priority,
        }
        if not self.stage:
            self.log.info("submission valid: %s", summary)
            return summary

        from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperHook
        from preservation_pipelines.merritt.queue import MerrittQueue

        with MerrittZooKeeperHook(self.zk_conn_id) as hook:
            queue = MerrittQueue(hook.get_conn(), progress=_ProgressLog(self.log))
            if queue.ingest_frozen():
                self.log.warning("the ingest queue is frozen (/locks/queue/ingest): jobs wait until it is thawed")
            result = hook.retry(queue.stage, submission, jobs)
        summary.update(vars(result))
        if result.already_staged:
            self.log.info("submission %s was already staged as %s: nothing written", submission.uuid, result.bid)
        self.log.info("run summary: %s", summary)
        return summary

    def validated(self, context):
        from include.merritt.checkm import MAX_MANIFEST_BYTES, ManifestError, parse_manifest
        from include.merritt.submission import SubmissionError, parse_submission, plan_jobs

        conf = dict(self.submission if self.submission is not None else context["params"])
        if not conf.get("submission_uuid"):
            conf["submission_uuid"] = default_submission_uuid(context["dag"].dag_id, context["run_id"])
        profiles = Variable.get(PROFILES_VARIABLE, default=None, deserialize_json=True)
        if not isinstance(profiles, list) or not profiles:
            raise AirflowFailException(
                f"Variable {PROFILES_VARIABLE} must hold the JSON list of Merritt collection profiles"
            )
        try:
            submission = parse_submission(conf, profiles)
            manifest = None
            if submission.manifest_kind is not None:
                payload = submission.payload
                if submission.payload_is_url:
                    payload = fetch_manifest(submission.payload.strip(), MAX_MANIFEST_BYTES)
                manifest = parse_manifest(
                    payload, manifest_of_manifests=submission.manifest_kind == "manifest-of-manifests"
                )
            jobs = plan_jobs(submission, manifest)
        except (SubmissionError, ManifestError) as error:
            raise AirflowFailException(f"submission {conf.get('submission_uuid')} refused: {error}") from None
        return submission, jobs, len(manifest.rows) if manifest else 0


class MerrittBatchReportingOperator(BaseOperator):
    """Report every batch whose jobs have all finished, as Merritt's batch reporter does.

    A Processing batch with an empty ``states/batch-processing`` moves to Reporting,
    its summary is mailed to the submitter (``notification`` addresses, else the
    submitter if it is an address) and logged, then it moves to Completed (no failed
    job) or Failed. UpdateReporting batches (failed jobs re-run) go straight to
    Completed/Failed; a batch left in Reporting by an interrupted run is finished. Each
    batch is reported under its ephemeral ``/batches/<bid>/lock``; a batch locked by
    another reporter is skipped. A batch whose nodes are corrupt is named in the error
    raised after all other batches are done.
    """

    def __init__(self, *, zk_conn_id: str = "merritt_zk", smtp_conn_id: str = "smtp_default", **kwargs) -> None:
        super().__init__(**kwargs)
        self.zk_conn_id = zk_conn_id
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context) -> dict[str, Any]:
        from include.merritt.layout import CorruptNodeError, batch_path
        from include.merritt.states import BatchState
        from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperHook
        from preservation_pipelines.merritt.queue import MerrittQueue

        summary: dict[str, Any] = {"batches": 0, "waiting": 0, "reported": [], "locked": [], "errors": []}
        with MerrittZooKeeperHook(self.zk_conn_id) as hook:
            queue = MerrittQueue(hook.get_conn())
            hook.retry(queue.ensure_layout)
            bids = hook.retry(queue.batch_ids)
            statuses = hook.retry(queue.batch_statuses, bids)
            summary["batches"] = len(bids)
            candidates = {}
            for bid, status in statuses.items():
                if isinstance(status, CorruptNodeError):
                    summary["errors"].append({"batch": bid, "error": str(status)})
                elif status is not None and status.get("status") in (
                    BatchState.PROCESSING,
                    BatchState.REPORTING,
                    BatchState.UPDATE_REPORTING,
                ):
                    candidates[bid] = status["status"]
            waiting = hook.retry(
                queue.processing_counts, [bid for bid, state in candidates.items() if state != "Reporting"]
            )
            ready = [bid for bid, state in candidates.items() if state == "Reporting" or waiting[bid] == 0]
            summary["waiting"] = sum(1 for count in waiting.values() if count)
            for bid in ready:
                try:
                    outcome = hook.retry(self._report, queue, bid)
                except Exception as error:  # noqa: BLE001 - one bad batch must not stop the others
                    self.log.error("batch %s not reported: %s", bid, error)
                    summary["errors"].append({"batch": bid, "node": batch_path(bid), "error": str(error)})
                    continue
                if outcome == "locked":
                    summary["locked"].append(bid)
                elif outcome is not None:
                    summary["reported"].append(outcome)
        self.log.info("run summary: %s", summary)
        if summary["errors"]:
            raise AirflowException(
                f"{len(summary['errors'])} batch(es) could not be reported (the others were): "
                + "; ".join(error["error"] for error in summary["errors"])
            )
        return summary

    def _report(self, queue, bid: str) -> dict[str, Any] | str | None:
        from include.merritt.states import BatchState

        with queue.batch_lock(bid) as acquired:
            if not acquired:
                self.log.info("%s is locked by another reporter: skipped", bid)
                return "locked"
            status, _ = queue.batch_status(bid)  # again, now that the batch is ours
            state = BatchState(status["status"])
            report = queue.read_report(bid)
            if state in (BatchState.PROCESSING, BatchState.UPDATE_REPORTING) and not report.ready:
                return None
            if state is BatchState.PROCESSING:
                queue.move_batch(bid, BatchState.REPORTING, expected=state)
                state = BatchState.REPORTING
            elif state not in (BatchState.REPORTING, BatchState.UPDATE_REPORTING):
                return None
            self._notify(report)
            counts = report.summary()
            queue.move_batch(
                bid, report.outcome, f"{counts['completed']} completed, {counts['failed']} failed", expected=state
            )
            self.log.info("reported %s: %s", bid, counts)
            # the e-mail lists every failed job; the run summary (an XCom) only the first few
            return {
                **counts,
                "failed_jobs": counts["failed_jobs"][:FAILED_JOBS_IN_SUMMARY],
                "reported_from": state.value,
            }

    def _notify(self, report) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        from include.merritt.report import report_recipients

        recipients = report_recipients(report.submission)
        if not recipients:
            self.log.info("batch %s: no e-mail address to send the report to", report.bid)
            return
        with SmtpHook(self.smtp_conn_id) as smtp:
            smtp.send_email_smtp(
                to=recipients,
                subject=report.email_subject(),
                html_content=f"<pre>{html.escape(report.email_body())}</pre>",
            )


class MerrittQueueAdminOperator(BaseOperator):
    """Run one administrative action on the queue and report exactly which nodes it changed."""

    template_fields = ("action", "target", "message", "older_than_days")

    def __init__(
        self,
        *,
        action: str,
        target: str = "",
        message: str = "",
        older_than_days: int | str = 30,
        zk_conn_id: str = "merritt_zk",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.action = action
        self.target = target
        self.message = message
        self.older_than_days = older_than_days
        self.zk_conn_id = zk_conn_id

    def execute(self, context) -> dict[str, Any]:
        from include.merritt.states import TransitionError
        from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperHook
        from preservation_pipelines.merritt.queue import MerrittQueue, QueueError, changes_as_dicts

        target = (self.target or "").strip()
        self._check_target(target)
        with MerrittZooKeeperHook(self.zk_conn_id) as hook:
            queue = MerrittQueue(hook.get_conn())
            hook.retry(queue.ensure_layout)
            try:
                changes = hook.retry(self._run, queue, target)
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
        from include.merritt.submission import NODE_NAME

        if self.action not in ADMIN_ACTIONS:
            raise AirflowFailException(f"unknown action {self.action!r}; one of {', '.join(ADMIN_ACTIONS)}")
        kind = ADMIN_ACTIONS[self.action]
        if kind is None:
            return
        prefix = {"jid": "jid", "bid": "bid", "profile": ""}[kind]
        if not target.startswith(prefix) or not NODE_NAME.match(target):
            raise AirflowFailException(f"{self.action} needs a {kind} as target, not {target!r}")

    def _run(self, queue, target: str):
        from include.merritt.layout import INGEST_QUEUE_LOCK, collection_lock
        from include.merritt.states import BatchState, JobState

        message = self.message or f"{self.action} by an operator"
        if self.action == "hold_collection":
            return queue.create_marker(collection_lock(target))
        if self.action == "release_collection":
            return queue.release_collection(target)
        if self.action == "freeze_queue":
            return queue.create_marker(INGEST_QUEUE_LOCK)
        if self.action == "thaw_queue":
            return queue.delete_marker(INGEST_QUEUE_LOCK)
        if self.action == "requeue_job":
            return queue.requeue_job(target)
        if self.action == "fail_job":
            return queue.move_job(target, JobState.FAILED, message)
        if self.action == "delete_job":
            return queue.move_job(target, JobState.DELETED, message)
        if self.action == "delete_batch":
            return queue.delete_batch(target)
        if self.action == "update_reporting":
            return [queue.move_batch(target, BatchState.UPDATE_REPORTING, message)]
        days = int(self.older_than_days)
        if days < 0:
            raise AirflowFailException(f"older_than_days must be 0 or more, not {days}")
        return queue.remove_completed_batches(timedelta(days=days))
