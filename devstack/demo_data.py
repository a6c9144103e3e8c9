"""Demo data for `make run` and `make demo`: what each DAG needs to find on the devstack.

``seed_demo_data`` returns the run conf each DAG gets in `make demo` (by dag id).
"""

from __future__ import annotations

from typing import Any

from devstack.servers import SFTP_FOLDER
from devstack.stack import Devstack

DEMO_REPORT_BARCODES = 50


def _seed_barcode_report(stack: Devstack) -> None:
    """Alma's Analytics report as Alma writes it: UTF-8 with a BOM, header ``Barcode``."""
    report = stack["sftp"].local_path(f"{SFTP_FOLDER}/sc_active_barcodes.csv")
    barcodes = [f"3210110{n:07d}" for n in range(DEMO_REPORT_BARCODES)]
    report.write_text("\ufeffBarcode\n" + "\n".join(barcodes) + "\n", encoding="utf-8")


def seed_demo_data(stack: Devstack) -> dict[str, dict[str, Any]]:
    _seed_barcode_report(stack)
    return {}
