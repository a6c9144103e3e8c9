"""The "Special Collections changes" applied to every ASpace MARC export, one function per rule.

Each rule mutates the ``<record>`` element in place and is unit-tested on its own;
`apply_special_collections_changes` runs them in the order of the spec. Rule 11 (the
item fields) lives in `items`, because it needs the resource's top containers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from include.aspace2alma.marc import (
    SUBFIELD,
    append_after_last_datafield,
    controlfield,
    datafields,
    first_subfield_value,
    new_controlfield,
    new_datafield,
    new_subfield,
    replace_subfields,
    subfield_value,
    subfields,
)

SOURCE_CODE = "PULFA"
MAX_520_LENGTH = 7_999
SUBJECT_TAGS = ("600", "610", "630", "648", "650", "651", "655", "656", "657", "700")
DELETED_TAGS = ("351", "500", "524", "535", "540", "541", "544", "561", "583")
LOCATION_NOTE = re.compile(r"^Location of resource: (?P<codes>.+?)\.?$")
LOCATION_CODE = re.compile(
    r"(sca)?(anxb|ea|ex|flm|flmp|gax|hsvc|hsvm|mss|mudd|prnc|rarebooks|rcpph|rcppf|rcppl|rcpxc|rcpxg|rcpxm|rcpxr"
    r"|st|thx|wa|review|oo|sc|sls)"
)
_LINE_BREAKS = re.compile(r"[\r\n]+")
_TWO_DIGITS = re.compile(r"^\d\d")


class RecordDataError(ValueError):
    """A record the rules cannot transform (missing 099, 008 or 041)."""


def required_fields_missing(record: etree._Element) -> list[str]:
    """Which of 099$a, 008 and 041 the record lacks (the rules need all three)."""
    missing = []
    if not first_subfield_value(record, "099", "a"):
        missing.append("099$a")
    if controlfield(record, "008") is None or not (controlfield(record, "008").text or "").strip():
        missing.append("008")
    if not datafields(record, "041"):
        missing.append("041")
    return missing


# -- rule 1 ------------------------------------------------------------------
def remove_empty_elements(record: etree._Element) -> None:
    """Drop elements with neither text nor children, bottom-up (an emptied parent goes too)."""
    for element in reversed(list(record.iter())):
        if element is record:
            continue
        if len(element) == 0 and not (element.text or "").strip():
            element.getparent().remove(element)


def flatten_line_breaks(record: etree._Element) -> None:
    """CR/LF inside subfield text becomes a single space."""
    for subfield in record.iter(SUBFIELD):
        if subfield.text and ("\n" in subfield.text or "\r" in subfield.text):
            subfield.text = _LINE_BREAKS.sub(" ", subfield.text)


# -- rule 2 ------------------------------------------------------------------
def add_identifiers(record: etree._Element, call_number: str) -> None:
    """001 = the call number and 003 = PULFA before the 008; 035 $a (PULFA)<call number> after it."""
    field_008 = controlfield(record, "008")
    field_008.addprevious(new_controlfield("001", call_number))
    field_008.addprevious(new_controlfield("003", SOURCE_CODE))
    field_008.addnext(new_datafield("035", [("a", f"({SOURCE_CODE}){call_number}")]))


# -- rule 3 ------------------------------------------------------------------
def replace_cataloging_source(record: etree._Element) -> None:
    for field in datafields(record, "040"):
        field.set("ind1", " ")
        field.set("ind2", " ")
        replace_subfields(field, [("a", "NjP"), ("b", "eng"), ("e", "dacs"), ("c", "NjP")])


# -- rule 4 ------------------------------------------------------------------
def add_date_field(record: etree._Element) -> None:
    """046 after the (last) 041: $a i, $c 008/07-10, $e 008/11-14."""
    value = controlfield(record, "008").text or ""
    field = new_datafield("046", [("a", "i"), ("c", value[7:11]), ("e", value[11:15])])
    datafields(record, "041")[-1].addnext(field)


# -- rule 5 ------------------------------------------------------------------
def mark_bulk_dates(record: etree._Element) -> None:
    for field in datafields(record, "245"):
        for subfield in subfields(field, "g"):
            subfield.text = f"(mostly {subfield.text})"


# -- rule 6 ------------------------------------------------------------------
def truncate_summaries(record: etree._Element, limit: int = MAX_520_LENGTH) -> None:
    for field in datafields(record, "520"):
        for subfield in subfields(field, "a"):
            if subfield.text and len(subfield.text) > limit:
                subfield.text = subfield.text[:limit]


# -- rule 7 ------------------------------------------------------------------
def subdivide_subjects(record: etree._Element) -> None:
    """Split run-together headings; recode VIAF authority links."""
    for field in datafields(record, *SUBJECT_TAGS):
        for subfield in list(subfields(field, "a")):
            if subfield.text and " -- " in subfield.text:
                first, *later = (part.strip() for part in subfield.text.split("--"))
                subfield.text = first
                anchor = subfield
                for part in later:
                    added = new_subfield("y" if _TWO_DIGITS.match(part) else "x", part)
                    anchor.addnext(added)
                    anchor = added
        for subfield in list(subfields(field, "0")):
            if "viaf" in (subfield.text or ""):
                subfield.set("code", "1")
        viaf_sources = [subfield for subfield in subfields(field, "2") if (subfield.text or "").strip() == "viaf"]
        for subfield in viaf_sources:
            field.remove(subfield)
        if viaf_sources and field.get("ind2") == "7":
            field.set("ind2", "0")


# -- rule 8 ------------------------------------------------------------------
def delete_fields(record: etree._Element, tags: Iterable[str]) -> None:
    for field in datafields(record, *tags):
        record.remove(field)


# -- rule 9 ------------------------------------------------------------------
def replace_finding_aid_link(record: etree._Element) -> None:
    links = datafields(record, "856")
    if not links:
        return
    link = links[0]
    url = subfield_value(link, "u") or ""
    link.set("ind1", "4")
    link.set("ind2", "2")
    replace_subfields(
        link, [("z", "Search and Request"), ("u", url), ("y", "Princeton University Library Finding Aids")]
    )


# -- rule 10 -----------------------------------------------------------------
def location_codes(note: str) -> list[str]:
    """The codes of a "Location of resource: <codes>." note that are Special Collections locations."""
    match = LOCATION_NOTE.match(note.strip())
    if not match:
        return []
    codes = [code.rstrip(".") for code in match.group("codes").split()]
    return [code for code in codes if LOCATION_CODE.fullmatch(code)]


def add_location_fields(record: etree._Element) -> None:
    codes = [
        code
        for field in datafields(record, "500")
        for sub in subfields(field, "a")
        for code in location_codes(sub.text or "")
    ]
    append_after_last_datafield(record, [new_datafield("982", [("c", code)]) for code in codes])


def clean_and_check(record: etree._Element) -> str:
    """Rule 1, then the call number (099$a); raises RecordDataError when 099, 008 or 041 is missing."""
    flatten_line_breaks(record)
    remove_empty_elements(record)
    missing = required_fields_missing(record)
    if missing:
        raise RecordDataError(f"missing {', '.join(missing)}")
    return first_subfield_value(record, "099", "a").strip()


def apply_special_collections_changes(
    record: etree._Element, call_number: str, item_fields: Iterable[etree._Element] = ()
) -> None:
    """Rules 2-12 in order, on a record that went through `clean_and_check`."""
    add_identifiers(record, call_number)
    replace_cataloging_source(record)
    add_date_field(record)
    mark_bulk_dates(record)
    truncate_summaries(record)
    subdivide_subjects(record)
    delete_fields(record, ["852"])
    replace_finding_aid_link(record)
    add_location_fields(record)
    append_after_last_datafield(record, item_fields)
    delete_fields(record, DELETED_TAGS)
