"""Alma Analytics' barcode report (``sc_active_barcodes.csv``): parsing and sanity checks.

The report is one column, header ``Barcode``, UTF-8 with a BOM as Alma writes it;
UTF-16 (either BOM), no BOM and CR LF line ends are read too. Lines end at LF, CR LF
or CR only: ``str.splitlines`` would also split at form feeds, U+2028 and the like,
turning one line into two "barcodes".
"""

from __future__ import annotations

import codecs
import re

HEADER = "barcode"
_LINE_END = re.compile(r"\r\n|\r|\n")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class ReportError(ValueError):
    """A report that must not be trusted; the message names the file and what is wrong."""


def decode_report(data: bytes, name: str) -> str:
    for bom, encoding in _BOMS:  # noqa: B007 - the loop finds the encoding
        if data.startswith(bom):
            break
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ReportError(f"{name}: not readable as {encoding}: {error}") from error


def parse_barcode_report(data: bytes, name: str) -> frozenset[str]:
    """The set of barcodes; ReportError when the file is empty, headerless or holds no barcode."""
    lines = (line.strip().strip('"').strip() for line in _LINE_END.split(decode_report(data, name)))
    lines = (line for line in lines if line)
    header = next(lines, None)
    if header is None:
        raise ReportError(f"{name}: the report is empty")
    if header.lower() != HEADER:
        raise ReportError(f"{name}: first line is {header[:40]!r}, expected the header 'Barcode'")
    barcodes = frozenset(lines)
    if not barcodes:
        raise ReportError(f"{name}: the report has a header but no barcodes")
    return barcodes


def check_report_size(name: str, count: int, previous_count: int | None, min_ratio: float) -> None:
    """Refuse a report far smaller than the previous good one (a truncated report floods Alma)."""
    if previous_count and count < min_ratio * previous_count:
        raise ReportError(
            f"{name}: {count} barcodes, below {min_ratio:.0%} of the previous good report's {previous_count}; "
            "if the drop is real, re-run with the param accept_short_report=true"
        )
