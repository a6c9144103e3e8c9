"""Hardened parsing: hostile or broken exports fail clearly, never expand or fetch anything."""

from __future__ import annotations

import pytest
from hypothesis import given
from lxml import etree

from include.aspace2alma.marcxml import MarcXmlError, parse_single_record, stream_collection
from tests.include.aspace2alma.hostile_strategies import marc_exports

NS = "http://www.loc.gov/MARC21/slim"
GOOD = f'<collection xmlns="{NS}" xmlns:marc="{NS}"><record><leader>x</leader></record></collection>'.encode()
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">'.encode() for i in range(1, 10))
    + b"]>"
    + f'<collection xmlns="{NS}"><record><leader>&lol9;</leader></record></collection>'.encode()
)


def test_parses_the_one_record_without_foreign_namespace_declarations():
    record = parse_single_record(GOOD, "/repositories/2/resources/1")
    assert etree.tostring(record) == f'<record xmlns="{NS}"><leader>x</leader></record>'.encode()


def test_billion_laughs_is_refused(tmp_path):
    with pytest.raises(MarcXmlError, match="/repositories/2/resources/7: refused a document that declares a DTD"):
        parse_single_record(LAUGHS, "/repositories/2/resources/7")


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file://{secret}">]>'
        f'<collection xmlns="{NS}"><record><leader>&x;</leader></record></collection>'
    ).encode()
    with pytest.raises(MarcXmlError, match="refused") as error:
        parse_single_record(xml, "r")
    assert "TOP SECRET" not in str(error.value)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<collection><record>", "invalid XML"),
        (b"not xml at all", "invalid XML"),
        (f'<collection xmlns="{NS}"></collection>'.encode(), "found 0"),
        (f'<collection xmlns="{NS}"><record/><record/></collection>'.encode(), "found 2"),
    ],
)
def test_invalid_exports_name_the_resource(xml, message):
    with pytest.raises(MarcXmlError, match=message) as error:
        parse_single_record(xml, "/repositories/3/resources/9")
    assert "/repositories/3/resources/9" in str(error.value)


def test_stream_collection_wraps_records_in_one_collection():
    records = [b'<record xmlns="%s"><leader>%d</leader></record>\n' % (NS.encode(), n) for n in range(3)]
    document = b"".join(stream_collection(records))
    root = etree.fromstring(document)
    assert root.tag == f"{{{NS}}}collection" and len(root) == 3


@given(marc_exports())
def test_any_export_gives_one_record_or_the_modules_error_naming_the_resource(xml):
    try:
        record = parse_single_record(xml, "/repositories/3/resources/9")
    except MarcXmlError as error:
        assert str(error).startswith("/repositories/3/resources/9: ")
        return
    assert record.tag == f"{{{NS}}}record"
    assert etree.fromstring(etree.tostring(record)).tag == record.tag
