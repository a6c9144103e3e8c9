"""aspace2alma demo: Alma's Analytics report waiting in the drop box."""

from __future__ import annotations

from typing import Any

from devstack.servers import SFTP_FOLDER
from devstack.stack import Devstack
from include.aspace2alma.dropbox import REPORT_NAME

DEMO_REPORT_BARCODES = 50


def seed(stack: Devstack) -> dict[str, dict[str, Any]]:
    """Write the report as Alma does: UTF-8 with a BOM, header ``Barcode``, fresh mtime.

    The demo runs at any hour, so the report counts as that day's from midnight
    (Eastern) instead of from 03:00, when Alma delivers it in production.
    """
    report = stack["sftp"].local_path(f"{SFTP_FOLDER}/{REPORT_NAME}")
    barcodes = [f"3210110{n:07d}" for n in range(DEMO_REPORT_BARCODES)]
    report.write_text("\ufeffBarcode\n" + "\n".join(barcodes) + "\n", encoding="utf-8")
    return {"aspace2alma": {"report_fresh_after": "00:00"}}
