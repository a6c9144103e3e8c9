"""The Analytics barcode report: encodings, header, empty and truncated reports."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.aspace2alma.report import ReportError, check_report_size, parse_barcode_report

BODY = "Barcode\n32101000000001\n32101000000002\n"


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + BODY.encode(),
        BODY.encode(),
        BODY.replace("\n", "\r\n").encode("utf-8-sig"),
        codecs.BOM_UTF16_LE + BODY.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + BODY.encode("utf-16-be"),
        '\ufeff"Barcode"\n"32101000000001"\n\n32101000000002\n'.encode(),
    ],
    ids=["utf8-bom", "no-bom", "crlf", "utf16le", "utf16be", "quoted-and-blank-lines"],
)
def test_reads_every_bom_variant(data):
    assert parse_barcode_report(data, "r.csv") == {"32101000000001", "32101000000002"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (codecs.BOM_UTF8 + b"\n\n", "empty"),
        (codecs.BOM_UTF8 + b"Barcode\n", "no barcodes"),
        (b"32101000000001\n32101000000002\n", "expected the header"),
        (b"\xff\xfe\x00garbage"[3:] + b"\xc3\x28", "not readable"),
    ],
)
def test_refuses_unusable_reports_naming_the_file(data, message):
    with pytest.raises(ReportError, match=message) as error:
        parse_barcode_report(data, "sc_active_barcodes_old.csv")
    assert "sc_active_barcodes_old.csv" in str(error.value)


def test_a_truncated_report_names_both_counts():
    with pytest.raises(ReportError, match=r"899 barcodes, below 90% of the previous good report's 1000"):
        check_report_size("r.csv", 899, 1000, 0.9)


def test_a_report_at_the_threshold_or_without_history_passes():
    check_report_size("r.csv", 900, 1000, 0.9)
    check_report_size("r.csv", 5, None, 0.9)
    check_report_size("r.csv", 5, 1000, 0.0)  # the override


def test_unicode_line_breaks_inside_a_barcode_do_not_split_it():
    data = "Barcode\n3210\u20281\n3210\x0c2\r\n3210\x853\r32104\n".encode()
    assert parse_barcode_report(data, "r.csv") == {"3210\u20281", "3210\x0c2", "3210\x853", "32104"}


@given(st.binary(max_size=200) | st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_barcodes_no_more_than_lines_or_the_modules_error_naming_the_file(data):
    try:
        barcodes = parse_barcode_report(data, "sc_active_barcodes_old.csv")
    except ReportError as error:
        assert str(error).startswith("sc_active_barcodes_old.csv: ")
        return
    lines = data.count(b"\n") + data.count(b"\r") + 1
    assert 0 < len(barcodes) < lines
    assert all(b and b == b.strip() and "\n" not in b and "\r" not in b for b in barcodes)


_BARCODE = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n\"'"), min_size=1, max_size=16)


@given(
    st.lists(_BARCODE.map(str.strip).filter(bool), min_size=1, max_size=20),
    st.sampled_from(["utf-8-sig", "utf-8", "utf-16-le", "utf-16-be"]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_every_barcode_written_is_read_back_whatever_the_encoding_and_line_ends(barcodes, encoding, line_end):
    text = line_end.join(["Barcode", *barcodes]) + line_end
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    assert parse_barcode_report(bom + text.encode(encoding), "r.csv") == set(barcodes)
