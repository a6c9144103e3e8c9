"""Reporting finished batches exactly when Merritt's batch reporter would, with the summary mailed to the submitter."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException

from include.merritt.layout import CorruptNodeError, batch_path
from include.merritt.report import BatchReport, report_recipients
from include.merritt.states import BatchState, TransitionError, parse_batch_state
from preservation_pipelines.common.hooks.mail import UnsendableMessage
from preservation_pipelines.merritt.operators.base import MerrittBaseOperator

# the queue (kazoo) is imported inside execute(): DAG parsing stays cheap.

FAILED_JOBS_IN_SUMMARY = 20
REPORTABLE = (BatchState.PROCESSING, BatchState.REPORTING, BatchState.UPDATE_REPORTING)
DONE = (BatchState.COMPLETED, BatchState.FAILED)
FAILED_BATCH_MESSAGE = "Batch failure"


class MerrittBatchReportingOperator(MerrittBaseOperator):
    """Report every batch Merritt's batch reporter would take, beside it.

    A batch is taken when its ``states/batch-processing`` exists and lists no job, its
    status is Processing, Reporting (Merritt's ingest sets it while the jobs still run:
    it does not mean finished) or UpdateReporting, and its ephemeral
    ``/batches/<bid>/lock`` is free. Under that lock, the batch is read again; Processing
    moves to Reporting, the summary is mailed to the submitter (``notification``
    addresses, else the submitter if it is an address) and logged, then the batch moves
    to Completed (no failed job) or Failed (``Batch failure``). A report that can never
    be sent (a refused address) does not stop the batch: the reason is logged, kept in
    the batch's status message and in the run summary. A batch with an empty
    ``batch-processing`` in any other status is left alone and logged. Nothing is done
    while the ingest queue is frozen (``/locks/queue/ingest``). A batch whose nodes are
    corrupt is named in the error raised after all other batches are done.
    """

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.merritt.queue.batches import Batches
        from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

        summary: dict[str, Any] = {
            "batches": 0,
            "waiting": 0,
            "done": 0,
            "reported": [],
            "locked": [],
            "left_alone": [],
            "errors": [],
        }
        with self.zookeeper_hook as hook:
            nodes = QueueNodes(hook.get_conn())
            batches = Batches(nodes)
            hook.retry(nodes.ensure_layout)
            if hook.retry(nodes.ingest_frozen):
                self.log.info("the ingest queue is frozen (/locks/queue/ingest): nothing is reported")
                summary["frozen"] = True
                return summary
            bids = hook.retry(batches.batch_ids)
            statuses = hook.retry(batches.batch_statuses, bids)
            summary["batches"] = len(bids)
            states: dict[str, BatchState] = {}
            for bid, status in statuses.items():
                try:
                    if isinstance(status, CorruptNodeError):
                        raise status
                    if status is not None:
                        states[bid] = parse_batch_state(status.get("status"), batch_path(bid, "status"))
                except (CorruptNodeError, TransitionError) as error:
                    summary["errors"].append({"batch": bid, "error": str(error)})
            listings = hook.retry(batches.processing_listings, list(states))
            summary["waiting"] = sum(1 for listed in listings.values() if listed)
            finished = [bid for bid, listed in listings.items() if listed == []]
            locked = hook.retry(batches.locked, finished)
            for bid in finished:
                state = states[bid]
                if state in DONE:
                    summary["done"] += 1
                elif state not in REPORTABLE:
                    self.log.warning("%s: every job finished but the batch is %s: left alone", bid, state.value)
                    summary["left_alone"].append({"batch": bid, "status": state.value})
                elif locked[bid]:
                    self.log.info("%s is locked (Merritt's reporter or batch consumer): skipped", bid)
                    summary["locked"].append(bid)
                else:
                    self._report_one(hook, batches, bid, summary)
        self.log.info("run summary: %s", summary)
        if summary["errors"]:
            raise AirflowException(
                f"{len(summary['errors'])} batch(es) could not be reported (the others were): "
                + "; ".join(error["error"] for error in summary["errors"])
            )
        return summary

    def _report_one(self, hook, batches, bid: str, summary: dict[str, Any]) -> None:
        try:
            outcome = hook.retry(self._report, batches, bid)
        except Exception as error:  # noqa: BLE001 - one bad batch must not stop the others
            self.log.error("batch %s not reported: %s", bid, error)
            summary["errors"].append({"batch": bid, "node": batch_path(bid), "error": str(error)})
            return
        if outcome == "locked":
            summary["locked"].append(bid)
        elif outcome is not None:
            summary["reported"].append(outcome)

    def _report(self, batches, bid: str) -> dict[str, Any] | str | None:
        with batches.batch_lock(bid) as acquired:
            if not acquired:
                self.log.info("%s was locked by another reporter meanwhile: skipped", bid)
                return "locked"
            status, _ = batches.batch_status(bid)  # again, now that the batch is ours
            state = parse_batch_state(status.get("status"), batch_path(bid, "status"))
            if state not in REPORTABLE or not batches.all_jobs_finished(bid):
                self.log.info("%s changed meanwhile (%s): not reported", bid, state.value)
                return None
            report = batches.read_report(bid)
            reported_from = state
            if state is BatchState.PROCESSING:
                batches.move_batch(bid, BatchState.REPORTING, expected=state)
                state = BatchState.REPORTING
            unsent = self._notify(report)
            message = FAILED_BATCH_MESSAGE if report.outcome is BatchState.FAILED else ""
            if unsent:
                message = "; ".join(part for part in (message, f"report not sent: {unsent}") if part)
            batches.move_batch(bid, report.outcome, message, expected=state)
            counts = report.summary()
            self.log.info("reported %s: %s", bid, counts)
            # the e-mail lists every failed job; the run summary (an XCom) only the first few
            return {
                **counts,
                "failed_jobs": counts["failed_jobs"][:FAILED_JOBS_IN_SUMMARY],
                "reported_from": reported_from.value,
                **({"report_not_sent": unsent} if unsent else {}),
            }

    def _notify(self, report: BatchReport) -> str | None:
        """Mail the report; why it can never be sent, or None (sent, or nobody to send it to)."""
        recipients = report_recipients(report.submission)
        if not recipients:
            self.log.info("batch %s: no e-mail address to send the report to", report.bid)
            return None
        try:
            self.mail_hook.send_plain(recipients=recipients, subject=report.email_subject(), body=report.email_body())
        except UnsendableMessage as error:
            self.log.warning("batch %s: the report can never be sent: %s", report.bid, error)
            return str(error)
        return None
