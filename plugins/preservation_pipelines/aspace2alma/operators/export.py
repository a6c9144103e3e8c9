"""The export itself: every ArchivesSpace resource, transformed, into one MARC_out.xml in the drop box."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from include.aspace2alma.aspace_data import AspaceDataError
from include.aspace2alma.dropbox import CONSUMED_REPORT_NAME, OUTPUT_NAME, describe_mtime
from include.aspace2alma.params import CONCURRENCY, MAX_FAILED_RATIO, REPORT_FRESH_AFTER
from include.aspace2alma.report import ReportError, parse_barcode_report
from include.common.eastern_time import EASTERN, eastern_day, eastern_instant
from preservation_pipelines.aspace2alma.hooks.archivesspace import RESOURCE_ERRORS
from preservation_pipelines.aspace2alma.operators.base import Aspace2AlmaBaseOperator

EXCLUDED_CALL_NUMBERS_VARIABLE = "aspace2alma_excluded_call_numbers"


class ArchivesSpaceToAlmaOperator(Aspace2AlmaBaseOperator):
    """Export every resource of every repository into one uploaded MARC21 slim ``<collection>``.

    Reads the barcodes of the report this run consumed (that day's, or it fails),
    exports on ``concurrency`` threads (on top of the ``aspace_api`` pool slot),
    spools the collection to a local temporary file as it streams (memory stays
    flat), then uploads it under a temporary name and renames it to
    ``<folder>/<output_name>``. Returns and logs the run summary, which names each
    skipped resource with its reason. Fails without retrying, nothing uploaded, when
    more than ``max_failed_ratio`` of the resources failed or when ArchivesSpace's
    listings of repositories and resources are malformed.
    """

    template_fields = ("folder", "fresh_after", "concurrency", "max_failed_ratio")

    def __init__(
        self,
        *,
        output_name: str = OUTPUT_NAME,
        fresh_after: str = REPORT_FRESH_AFTER.default,
        concurrency: int | str = CONCURRENCY.default,
        max_failed_ratio: float | str = MAX_FAILED_RATIO.default,
        progress_interval: float = 30.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.output_name = output_name
        self.fresh_after = fresh_after
        self.concurrency = concurrency
        self.max_failed_ratio = max_failed_ratio
        self.progress_interval = progress_interval

    @property
    def aspace_hook_parameters(self) -> dict[str, Any]:
        return {"max_connections": self.checked(CONCURRENCY, self.concurrency)}

    def execute(self, context) -> dict[str, Any]:
        # The export and lxml are imported when the task runs, not when the DAG file is parsed.
        from include.aspace2alma.export import ExportAborted, ExportSummary, TooManyFailed, export_records
        from include.aspace2alma.marcxml import stream_collection
        from include.aspace2alma.selection import exclusion_list

        concurrency = self.checked(CONCURRENCY, self.concurrency)
        max_failed_ratio = self.checked(MAX_FAILED_RATIO, self.max_failed_ratio)
        fresh_after_time = self.checked(REPORT_FRESH_AFTER, self.fresh_after)
        dropbox = self.dropbox_hook
        consumed = self.dropbox_path(CONSUMED_REPORT_NAME)
        fresh_after = eastern_instant(eastern_day(context["logical_date"]), fresh_after_time)
        consumed_at = dropbox.modified_at(consumed)
        if consumed_at is None or consumed_at < fresh_after:
            raise AirflowFailException(
                f"{consumed} is {describe_mtime(consumed_at)}, not a report delivered since "
                f"{fresh_after.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}: clear consume_report too"
            )
        try:
            barcodes = parse_barcode_report(dropbox.read_bytes(consumed), consumed)
        except ReportError as error:
            raise AirflowFailException(str(error)) from error
        excluded = exclusion_list(self._excluded_call_numbers())
        aspace = self.aspace_hook
        summary = ExportSummary()
        with tempfile.TemporaryDirectory(prefix="aspace2alma-") as scratch:
            spool = Path(scratch) / self.output_name
            records = export_records(
                aspace, summary, report_barcodes=barcodes, excluded=excluded, concurrency=concurrency,
                resource_errors=RESOURCE_ERRORS, max_failed_ratio=max_failed_ratio,
                progress_interval=self.progress_interval, logger=self.log,
            )  # fmt: skip
            try:
                with spool.open("wb") as out:
                    for chunk in stream_collection(records):
                        out.write(chunk)
            except ExportAborted as error:
                raise RuntimeError(f"export aborted, nothing uploaded: {error}") from error
            except TooManyFailed as error:
                raise AirflowFailException(
                    f"nothing uploaded: {error}\nWhen these failures are understood and a partial file is wanted, "
                    f"trigger again with a higher {MAX_FAILED_RATIO.name}."
                ) from error
            except AspaceDataError as error:
                raise AirflowFailException(
                    f"nothing uploaded: ArchivesSpace's listings are unusable: {error}"
                ) from error
            summary.bytes_uploaded = dropbox.upload_atomically(spool, self.dropbox_path(self.output_name))
        result = summary.as_dict() | {"aspace_logins": aspace.logins, "concurrency": concurrency}
        self.log.info("run summary: %s", result)
        return result

    def _excluded_call_numbers(self) -> str | None:
        from airflow.sdk import Variable

        return Variable.get(EXCLUDED_CALL_NUMBERS_VARIABLE, default=None)
