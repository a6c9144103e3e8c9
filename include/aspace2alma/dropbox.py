"""The files of the Alma drop box, the SFTP folder this pipeline shares with Alma."""

from __future__ import annotations

from datetime import datetime

from include.common.eastern_time import EASTERN

DROPBOX_FOLDER = "/alma/aspace"  # the drop-box folder on lib_sftp shared with Alma (the DAGs' default)
OUTPUT_NAME = "MARC_out.xml"  # what Alma's import job reads, at ALMA_IMPORT_AT
ALMA_IMPORT_AT = "11:00"  # Eastern; a file uploaded later is imported the next day
PREVIOUS_OUTPUT_NAME = "MARC_out_old.xml"
REPORT_NAME = "sc_active_barcodes.csv"  # Alma Analytics' barcode report, delivered ~03:00 Eastern
CONSUMED_REPORT_NAME = "sc_active_barcodes_old.csv"


def describe_mtime(modified: datetime | None) -> str:
    """``absent`` or ``from <Eastern date and time>``, for messages about a file's age."""
    return "absent" if modified is None else f"from {modified.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}"
