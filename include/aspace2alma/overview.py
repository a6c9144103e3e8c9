"""What the Pipelines view says about the day's barcode report in the drop box."""

from __future__ import annotations

from datetime import datetime

from include.aspace2alma.dropbox import describe_mtime


def report_arrival(delivered: datetime | None, consumed: datetime | None, fresh_after: datetime) -> tuple[bool, str]:
    """Whether the day's report has arrived, and how: waiting (``sc_active_barcodes.csv`` modified at or after
    ``fresh_after``) or already taken by an export (the consumed copy keeps the delivered mtime)."""
    if delivered is not None and delivered >= fresh_after:
        return True, f"arrived, waiting for the export ({describe_mtime(delivered)})"
    if consumed is not None and consumed >= fresh_after:
        return True, f"arrived and consumed by an export ({describe_mtime(consumed)})"
    return (
        False,
        f"not arrived: the report is {describe_mtime(delivered)}, the consumed copy {describe_mtime(consumed)}",
    )
