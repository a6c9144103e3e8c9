"""Operators that move files in the Alma drop box: rotate the output, remove a stale one, consume the report.

Times of day (``HH:MM``) are Eastern, on the run's day: the Eastern calendar day of
the run's logical date, never the wall clock, so clears and backfills judge by the
day the run stands for.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from include.aspace2alma.dropbox import CONSUMED_REPORT_NAME, REPORT_NAME, describe_mtime
from include.aspace2alma.params import MIN_REPORT_RATIO, REPORT_FRESH_AFTER
from include.aspace2alma.report import ReportError, check_report_size, parse_barcode_report
from include.common.eastern_time import EASTERN, eastern_day, eastern_instant
from preservation_pipelines.aspace2alma.operators.base import Aspace2AlmaBaseOperator


class SFTPRotateOperator(Aspace2AlmaBaseOperator):
    """Delete ``<folder>/<previous>`` and rename ``<folder>/<current>`` to it, if present."""

    template_fields = ("folder",)

    def __init__(self, *, current: str, previous: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.current = current
        self.previous = previous

    def execute(self, context) -> bool:
        return self.dropbox_hook.rotate(self.dropbox_path(self.current), self.dropbox_path(self.previous))


class RemoveStaleFileOperator(Aspace2AlmaBaseOperator):
    """Delete ``<folder>/<name>`` if it was written before the run's day began (Eastern).

    The run's day is the Eastern calendar day of the run's logical date, so a
    backfilled or re-run cleanup judges by the day it stands for, never deleting a
    file written on that day.
    """

    template_fields = ("folder",)

    def __init__(self, *, name: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.name = name

    def execute(self, context) -> dict[str, Any]:
        path = self.dropbox_path(self.name)
        day = eastern_day(context["logical_date"])
        day_start = eastern_instant(day, "00:00")
        modified = self.dropbox_hook.modified_at(path)
        if modified is None:
            self.log.info("%s absent: nothing to clean up for %s", path, day)
            return {"day": day.isoformat(), "deleted": False, "reason": "absent"}
        if modified >= day_start:
            self.log.info("%s written %s, on %s itself: left alone", path, modified.astimezone(EASTERN), day)
            return {"day": day.isoformat(), "deleted": False, "reason": "written that day"}
        self.dropbox_hook.delete_file(path)
        self.log.info("deleted %s written %s, before %s", path, modified.astimezone(EASTERN), day)
        return {"day": day.isoformat(), "deleted": True, "reason": "written before that day"}


class ConsumeBarcodeReportOperator(Aspace2AlmaBaseOperator):
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
        fresh_after: str = REPORT_FRESH_AFTER.default,
        min_ratio: float | str = MIN_REPORT_RATIO.default,
        accept_short: bool | str = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.fresh_after = fresh_after
        self.min_ratio = min_ratio
        self.accept_short = accept_short

    def execute(self, context) -> dict[str, Any]:
        min_ratio = 0.0 if _as_bool(self.accept_short) else self.checked(MIN_REPORT_RATIO, self.min_ratio)
        fresh_after_time = self.checked(REPORT_FRESH_AFTER, self.fresh_after)
        hook = self.dropbox_hook
        report = self.dropbox_path(REPORT_NAME)
        consumed = self.dropbox_path(CONSUMED_REPORT_NAME)
        fresh_after = eastern_instant(eastern_day(context["logical_date"]), fresh_after_time)
        delivered = hook.modified_at(report)
        if delivered is not None and delivered >= fresh_after:
            hook.rotate(report, consumed)
            self.log.info("consumed %s delivered %s", report, delivered.astimezone(EASTERN))
        else:
            consumed_at = hook.modified_at(consumed)
            if consumed_at is None or consumed_at < fresh_after:
                raise AirflowFailException(
                    f"no report delivered since {fresh_after.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}: {report} is "
                    f"{describe_mtime(delivered)}, {consumed} is {describe_mtime(consumed_at)}; "
                    "no export without that day's report"
                )
            self.log.info(
                "reusing %s, consumed earlier today (delivered %s)", consumed, consumed_at.astimezone(EASTERN)
            )
        modified = hook.modified_at(consumed)
        try:
            barcodes = parse_barcode_report(hook.read_bytes(consumed), consumed)
            previous = self._previous_good_count(context)
            check_report_size(consumed, len(barcodes), previous, min_ratio)
        except ReportError as error:
            raise AirflowFailException(str(error)) from error
        self.log.info("%s: %d barcodes (previous good report: %s)", consumed, len(barcodes), previous)
        return {"report": consumed, "modified": modified.isoformat(), "barcodes": len(barcodes)}

    def _previous_good_count(self, context) -> int | None:
        previous = context["ti"].xcom_pull(task_ids=self.task_id, include_prior_dates=True)
        return previous.get("barcodes") if isinstance(previous, dict) else None


def _as_bool(value: bool | str) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
