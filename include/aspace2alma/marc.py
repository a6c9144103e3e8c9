"""Small helpers over MARC21 slim records held as lxml elements (namespace-qualified)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lxml import etree

MARC_NS = "http://www.loc.gov/MARC21/slim"
RECORD = f"{{{MARC_NS}}}record"
LEADER = f"{{{MARC_NS}}}leader"
CONTROLFIELD = f"{{{MARC_NS}}}controlfield"
DATAFIELD = f"{{{MARC_NS}}}datafield"
SUBFIELD = f"{{{MARC_NS}}}subfield"

Subfields = Iterable[tuple[str, str]]


def datafields(record: etree._Element, *tags: str) -> list[etree._Element]:
    """The record's datafields with one of ``tags`` (all datafields when none given), in order."""
    wanted = set(tags)
    return [field for field in record.iterchildren(DATAFIELD) if not wanted or field.get("tag") in wanted]


def controlfield(record: etree._Element, tag: str) -> etree._Element | None:
    for field in record.iterchildren(CONTROLFIELD):
        if field.get("tag") == tag:
            return field
    return None


def subfields(field: etree._Element, code: str | None = None) -> Iterator[etree._Element]:
    for subfield in field.iterchildren(SUBFIELD):
        if code is None or subfield.get("code") == code:
            yield subfield


def subfield_value(field: etree._Element, code: str) -> str | None:
    """The text of the field's first ``$code``, or None when it has none."""
    for subfield in subfields(field, code):
        return subfield.text or ""
    return None


def first_subfield_value(record: etree._Element, tag: str, code: str) -> str | None:
    """The text of the first ``$code`` of the first field ``tag`` that has one."""
    for field in datafields(record, tag):
        value = subfield_value(field, code)
        if value is not None:
            return value
    return None


def new_controlfield(tag: str, value: str) -> etree._Element:
    field = etree.Element(CONTROLFIELD, tag=tag)
    field.text = value
    return field


def new_subfield(code: str, value: str) -> etree._Element:
    subfield = etree.Element(SUBFIELD, code=code)
    subfield.text = value
    return subfield


def new_datafield(tag: str, subfield_pairs: Subfields, ind1: str = " ", ind2: str = " ") -> etree._Element:
    field = etree.Element(DATAFIELD, ind1=ind1, ind2=ind2, tag=tag)
    for code, value in subfield_pairs:
        etree.SubElement(field, SUBFIELD, code=code).text = value
    return field


def replace_subfields(field: etree._Element, subfield_pairs: Subfields) -> None:
    for subfield in list(subfields(field)):
        field.remove(subfield)
    for code, value in subfield_pairs:
        field.append(new_subfield(code, value))


def append_after_last_datafield(record: etree._Element, fields: Iterable[etree._Element]) -> None:
    """Append ``fields`` right after the record's last datafield (the end of the record)."""
    anchor = next(record.iterchildren(DATAFIELD, reversed=True), None)
    for field in fields:
        if anchor is None:
            record.append(field)
        else:
            anchor.addnext(field)
        anchor = field
