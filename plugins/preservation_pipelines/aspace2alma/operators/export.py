"""Operators of the aspace2alma DAGs: each does one step against ASpace or the drop box.

Times of day (``HH:MM``) are Eastern, on the run's day: the Eastern calendar day of
the run's logical date, never the wall clock, so clears and backfills judge by the
day the run stands for.
"""

from __future__ import annotations

import posixpath
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from include.aspace2alma.calendar import EASTERN, eastern_instant, later_fire_instants, run_day

# Hooks, lxml and the export are imported inside execute(): the SFTP provider pulls in
# paramiko and asyncssh, which would otherwise cost every DAG parse most of a second.

REPORT_NAME = "sc_active_barcodes.csv"
CONSUMED_REPORT_NAME = "sc_active_barcodes_old.csv"
EXCLUDED_CALL_NUMBERS_VARIABLE = "aspace2alma_excluded_call_numbers"


class SkipIfSupersededOperator(BaseOperator):
    """Skip the whole run when a newer run of the DAG exists: the export is a full snapshot.

    A newer run is one at a later fire instant of the DAG's schedule, up to now (a
    backfill over N missed days creates them all at once, so only the newest exports).
    """

    def execute(self, context) -> dict[str, Any]:
        dag, ti = context["dag"], context["ti"]
        logical_date = context["logical_date"]
        timetable = dag.timetable
        later = later_fire_instants(logical_date, datetime.now(UTC), at=timetable.at, weekdays=timetable.weekdays)
        newer_runs = ti.get_dr_count(dag_id=dag.dag_id, logical_dates=later) if later else 0
        if newer_runs:
            raise AirflowSkipException(
                f"superseded: {newer_runs} newer run(s) of {dag.dag_id} exist after {logical_date.isoformat()}; "
                "the newest run exports the full snapshot, this one skips its export"
            )
        self.log.info("no newer run of %s after %s: this run exports", dag.dag_id, logical_date.isoformat())
        return {"superseded": False}


class ExportDeadlineCheckOperator(BaseOperator):
    """Alert when the run of ``dag_id`` at ``at`` Eastern on this run's day has not succeeded.

    The deadline alert of ``aspace2alma`` (Airflow's Deadline Alerts break ``dag.test()``
    in 3.3.2, so the check is a task scheduled at the deadline). Logs an error and
    mails the recipients; the task itself succeeds, so a late export is reported
    once and not retried into more mail. Returns ``{"day", "done", "alerted"}``.
    """

    def __init__(self, *, dag_id_to_check: str, at: str, to: list[str] | str | None = None,
                 smtp_conn_id: str = "smtp_default", **kwargs) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.dag_id_to_check = dag_id_to_check
        self.at = at
        self.to = to
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.aspace2alma.notifiers.deadline import recipients, send_late_alert

        day = run_day(context["logical_date"])
        fire = eastern_instant(day, self.at)
        done = context["ti"].get_dr_count(dag_id=self.dag_id_to_check, logical_dates=[fire], states=["success"]) > 0
        if done:
            self.log.info(
                "%s run of %s (%s) succeeded before the deadline", self.dag_id_to_check, day, fire.isoformat()
            )
            return {"day": day.isoformat(), "done": True, "alerted": []}
        message = (
            f"{self.dag_id_to_check} run of {day} ({self.at} Eastern) is not done at its deadline: Alma imports "
            "MARC_out.xml at 11:00; check the run now (a file uploaded after 11:00 is imported the next day)"
        )
        self.log.error(message)
        to = recipients(self.to)
        if to:
            send_late_alert(message, to, self.smtp_conn_id)
        return {"day": day.isoformat(), "done": False, "alerted": to}


class SFTPRotateOperator(BaseOperator):
    """Delete ``<folder>/<previous>`` and rename ``<folder>/<current>`` to it, if present."""

    template_fields = ("folder",)

    def __init__(self, *, folder: str, current: str, previous: str, sftp_conn_id: str = "lib_sftp", **kwargs) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.current = current
        self.previous = previous
        self.sftp_conn_id = sftp_conn_id

    def execute(self, context) -> bool:
        from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook

        hook = SFTPDropBoxHook(self.sftp_conn_id)
        return hook.rotate(posixpath.join(self.folder, self.current), posixpath.join(self.folder, self.previous))


class RemoveStaleFileOperator(BaseOperator):
    """Delete ``<folder>/<name>`` if it was written before the run's day began (Eastern).

    The run's day is the Eastern calendar day of the run's logical date, so a
    backfilled or re-run cleanup judges by the day it stands for, never deleting a
    file written on that day.
    """

    template_fields = ("folder",)

    def __init__(self, *, folder: str, name: str, sftp_conn_id: str = "lib_sftp", **kwargs) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.name = name
        self.sftp_conn_id = sftp_conn_id

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook

        hook = SFTPDropBoxHook(self.sftp_conn_id)
        path = posixpath.join(self.folder, self.name)
        day = run_day(context["logical_date"])
        day_start = eastern_instant(day, "00:00")
        modified = hook.modified_at(path)
        if modified is None:
            self.log.info("%s absent: nothing to clean up for %s", path, day)
            return {"day": day.isoformat(), "deleted": False, "reason": "absent"}
        if modified >= day_start:
            self.log.info("%s written %s, on %s itself: left alone", path, modified.astimezone(EASTERN), day)
            return {"day": day.isoformat(), "deleted": False, "reason": "written that day"}
        hook.delete_file(path)
        self.log.info("deleted %s written %s, before %s", path, modified.astimezone(EASTERN), day)
        return {"day": day.isoformat(), "deleted": True, "reason": "written before that day"}


def _report_paths(folder: str) -> tuple[str, str]:
    return posixpath.join(folder, REPORT_NAME), posixpath.join(folder, CONSUMED_REPORT_NAME)


class ConsumeBarcodeReportOperator(BaseOperator):
    """Take that day's Analytics report and check it before anything trusts it.

    A fresh ``sc_active_barcodes.csv`` (modified at or after ``fresh_after`` on the
    run's day) replaces ``sc_active_barcodes_old.csv``; when there is none but the
    consumed copy is that day's (a cleared or retried run), the consumed copy is
    reused. Anything older fails: no stale report is ever used. The report must
    parse (header ``Barcode``, at least one barcode) and hold at least
    ``min_ratio`` of the previous good report's barcodes unless ``accept_short``.
    Returns ``{"report", "modified", "barcodes"}``; the count is the next run's
    "previous good report".
    """

    template_fields = ("folder", "fresh_after", "min_ratio", "accept_short")

    def __init__(
        self,
        *,
        folder: str,
        fresh_after: str = "03:00",
        min_ratio: float | str = 0.9,
        accept_short: bool | str = False,
        sftp_conn_id: str = "lib_sftp",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.fresh_after = fresh_after
        self.min_ratio = min_ratio
        self.accept_short = accept_short
        self.sftp_conn_id = sftp_conn_id

    def execute(self, context) -> dict[str, Any]:
        from include.aspace2alma.report import ReportError, check_report_size, parse_barcode_report
        from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook

        hook = SFTPDropBoxHook(self.sftp_conn_id)
        report, consumed = _report_paths(self.folder)
        fresh_after = eastern_instant(run_day(context["logical_date"]), self.fresh_after)
        delivered = hook.modified_at(report)
        if delivered is not None and delivered >= fresh_after:
            hook.rotate(report, consumed)
            self.log.info("consumed %s delivered %s", report, delivered.astimezone(EASTERN))
        else:
            consumed_at = hook.modified_at(consumed)
            if consumed_at is None or consumed_at < fresh_after:
                raise AirflowFailException(
                    f"no report delivered since {fresh_after.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}: {report} is "
                    f"{_describe(delivered)}, {consumed} is {_describe(consumed_at)}; no export without that day's report"
                )
            self.log.info(
                "reusing %s, consumed earlier today (delivered %s)", consumed, consumed_at.astimezone(EASTERN)
            )
        modified = hook.modified_at(consumed)
        try:
            barcodes = parse_barcode_report(hook.read_bytes(consumed), consumed)
            previous = self._previous_good_count(context)
            min_ratio = 0.0 if _as_bool(self.accept_short) else float(self.min_ratio)
            check_report_size(consumed, len(barcodes), previous, min_ratio)
        except ReportError as error:
            raise AirflowFailException(str(error)) from error
        self.log.info("%s: %d barcodes (previous good report: %s)", consumed, len(barcodes), previous)
        return {"report": consumed, "modified": modified.isoformat(), "barcodes": len(barcodes)}

    def _previous_good_count(self, context) -> int | None:
        previous = context["ti"].xcom_pull(task_ids=self.task_id, include_prior_dates=True)
        return previous.get("barcodes") if isinstance(previous, dict) else None


def _describe(modified: datetime | None) -> str:
    return "absent" if modified is None else f"from {modified.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}"


def _as_bool(value: bool | str) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


class ArchivesSpaceToAlmaOperator(BaseOperator):
    """Export every resource of every repository into one uploaded MARC21 slim ``<collection>``.

    Reads the barcodes of the report this run consumed (that day's, or it fails),
    exports on ``concurrency`` threads (on top of the ``aspace_api`` pool slot),
    spools the collection to a local temporary file as it streams (memory stays
    flat), then uploads it under a temporary name and renames it to
    ``<folder>/<output_name>``. Returns and logs the run summary.
    """

    template_fields = ("folder", "fresh_after", "concurrency")

    def __init__(
        self,
        *,
        folder: str,
        output_name: str = "MARC_out.xml",
        fresh_after: str = "03:00",
        concurrency: int | str = 16,
        aspace_conn_id: str = "aspace_default",
        sftp_conn_id: str = "lib_sftp",
        progress_interval: float = 30.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.output_name = output_name
        self.fresh_after = fresh_after
        self.concurrency = concurrency
        self.aspace_conn_id = aspace_conn_id
        self.sftp_conn_id = sftp_conn_id
        self.progress_interval = progress_interval

    def execute(self, context) -> dict[str, Any]:
        from include.aspace2alma.export import ExportAborted, ExportSummary, export_records
        from include.aspace2alma.marcxml import stream_collection
        from include.aspace2alma.report import ReportError, parse_barcode_report
        from include.aspace2alma.selection import exclusion_list
        from preservation_pipelines.aspace2alma.hooks.archivesspace import RESOURCE_ERRORS, ArchivesSpaceHook
        from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook

        concurrency = int(self.concurrency)
        dropbox = SFTPDropBoxHook(self.sftp_conn_id)
        _, consumed = _report_paths(self.folder)
        fresh_after = eastern_instant(run_day(context["logical_date"]), self.fresh_after)
        consumed_at = dropbox.modified_at(consumed)
        if consumed_at is None or consumed_at < fresh_after:
            raise AirflowFailException(
                f"{consumed} is {_describe(consumed_at)}, not a report delivered since "
                f"{fresh_after.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}: clear consume_report too"
            )
        try:
            barcodes = parse_barcode_report(dropbox.read_bytes(consumed), consumed)
        except ReportError as error:
            raise AirflowFailException(str(error)) from error
        excluded = exclusion_list(self._excluded_call_numbers())
        aspace = ArchivesSpaceHook(self.aspace_conn_id, max_connections=concurrency)
        summary = ExportSummary()
        with tempfile.TemporaryDirectory(prefix="aspace2alma-") as scratch:
            spool = Path(scratch) / self.output_name
            records = export_records(
                aspace, summary, report_barcodes=barcodes, excluded=excluded, concurrency=concurrency,
                resource_errors=RESOURCE_ERRORS, progress_interval=self.progress_interval, logger=self.log,
            )  # fmt: skip
            try:
                with spool.open("wb") as out:
                    for chunk in stream_collection(records):
                        out.write(chunk)
            except ExportAborted as error:
                raise RuntimeError(f"export aborted, nothing uploaded: {error}") from error
            summary.bytes_uploaded = dropbox.upload_atomically(spool, posixpath.join(self.folder, self.output_name))
        result = summary.as_dict() | {"aspace_logins": aspace.logins, "concurrency": concurrency}
        self.log.info("run summary: %s", result)
        return result

    def _excluded_call_numbers(self) -> str | None:
        from airflow.sdk import Variable

        return Variable.get(EXCLUDED_CALL_NUMBERS_VARIABLE, default=None)
