"""The files of the Alma drop box, the SFTP folder this pipeline shares with Alma."""

from __future__ import annotations

import re
from datetime import datetime

from include.common.eastern_time import EASTERN

DROPBOX_FOLDER = "/alma/aspace"  # the drop-box folder on lib_sftp shared with Alma, while the Variable is unset
DROPBOX_FOLDER_VARIABLE = "aspace2alma_dropbox_folder"
OUTPUT_NAME = "MARC_out.xml"  # what Alma's import job reads, at ALMA_IMPORT_AT
ALMA_IMPORT_AT = "11:00"  # Eastern; a file uploaded later is imported the next day
PREVIOUS_OUTPUT_NAME = "MARC_out_old.xml"
REPORT_NAME = "sc_active_barcodes.csv"  # Alma Analytics' barcode report, delivered ~03:00 Eastern
CONSUMED_REPORT_NAME = "sc_active_barcodes_old.csv"


def describe_mtime(modified: datetime | None) -> str:
    """``absent`` or ``from <Eastern date and time>``, for messages about a file's age."""
    return "absent" if modified is None else f"from {modified.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}"


class DropBoxFolderError(ValueError):
    """The drop-box folder named is not an absolute path of plain names."""


_FOLDER = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,254}){1,32}/?")


def checked_folder(value: object) -> str:
    """``value`` if it names a drop-box folder: an absolute path of plain names (no ``.``/``..``,
    no separators or control characters inside a name), so no value can reach outside it."""
    if not isinstance(value, str) or not _FOLDER.fullmatch(value):
        raise DropBoxFolderError(
            f"drop-box folder {str(value)[:200]!r} (Variable {DROPBOX_FOLDER_VARIABLE}) is not an absolute path "
            "of plain names (letters, digits, . _ ~ -; none starting with a dot)"
        )
    return value.rstrip("/")
