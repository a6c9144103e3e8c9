"""Reporting finished batches, as Merritt's batch reporter does, with the summary mailed to the submitter."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException

from include.merritt.layout import CorruptNodeError, batch_path
from include.merritt.report import BatchReport, report_recipients
from include.merritt.states import BatchState
from preservation_pipelines.merritt.operators.base import MerrittBaseOperator

# the queue (kazoo) is imported inside execute(): DAG parsing stays cheap.

FAILED_JOBS_IN_SUMMARY = 20
REPORTABLE = (BatchState.PROCESSING, BatchState.REPORTING, BatchState.UPDATE_REPORTING)


class MerrittBatchReportingOperator(MerrittBaseOperator):
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

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.merritt.queue.batches import Batches
        from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

        summary: dict[str, Any] = {"batches": 0, "waiting": 0, "reported": [], "locked": [], "errors": []}
        with self.zookeeper_hook as hook:
            nodes = QueueNodes(hook.get_conn())
            batches = Batches(nodes)
            hook.retry(nodes.ensure_layout)
            bids = hook.retry(batches.batch_ids)
            statuses = hook.retry(batches.batch_statuses, bids)
            summary["batches"] = len(bids)
            candidates = {}
            for bid, status in statuses.items():
                if isinstance(status, CorruptNodeError):
                    summary["errors"].append({"batch": bid, "error": str(status)})
                elif status is not None and status.get("status") in REPORTABLE:
                    candidates[bid] = status["status"]
            waiting = hook.retry(
                batches.processing_counts,
                [bid for bid, state in candidates.items() if state != BatchState.REPORTING],
            )
            ready = [bid for bid, state in candidates.items() if state == BatchState.REPORTING or waiting[bid] == 0]
            summary["waiting"] = sum(1 for count in waiting.values() if count)
            for bid in ready:
                try:
                    outcome = hook.retry(self._report, batches, bid)
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

    def _report(self, batches, bid: str) -> dict[str, Any] | str | None:
        with batches.batch_lock(bid) as acquired:
            if not acquired:
                self.log.info("%s is locked by another reporter: skipped", bid)
                return "locked"
            status, _ = batches.batch_status(bid)  # again, now that the batch is ours
            state = BatchState(status["status"])
            report = batches.read_report(bid)
            if state in (BatchState.PROCESSING, BatchState.UPDATE_REPORTING) and not report.ready:
                return None
            if state is BatchState.PROCESSING:
                batches.move_batch(bid, BatchState.REPORTING, expected=state)
                state = BatchState.REPORTING
            elif state not in (BatchState.REPORTING, BatchState.UPDATE_REPORTING):
                return None
            self._notify(report)
            counts = report.summary()
            batches.move_batch(
                bid, report.outcome, f"{counts['completed']} completed, {counts['failed']} failed", expected=state
            )
            self.log.info("reported %s: %s", bid, counts)
            # the e-mail lists every failed job; the run summary (an XCom) only the first few
            return {
                **counts,
                "failed_jobs": counts["failed_jobs"][:FAILED_JOBS_IN_SUMMARY],
                "reported_from": state.value,
            }

    def _notify(self, report: BatchReport) -> None:
        recipients = report_recipients(report.submission)
        if not recipients:
            self.log.info("batch %s: no e-mail address to send the report to", report.bid)
            return
        self.mail_hook.send_plain(recipients=recipients, subject=report.email_subject(), body=report.email_body())
