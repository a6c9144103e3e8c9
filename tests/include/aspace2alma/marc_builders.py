"""Building small MARC records for rule tests."""

from __future__ import annotations

from lxml import etree

from include.aspace2alma.marc import MARC_NS, RECORD, new_controlfield, new_datafield

M = f"{{{MARC_NS}}}"


def record(*fields) -> etree._Element:
    """fields: ("008", "value") for control fields, ("650", [("a", "...")], ind1, ind2) for data fields."""
    element = etree.Element(RECORD, nsmap={None: MARC_NS})
    leader = etree.SubElement(element, f"{M}leader")
    leader.text = "00000npcaa2200000 u 4500"
    for field in fields:
        if isinstance(field[1], str):
            element.append(new_controlfield(*field))
        else:
            element.append(new_datafield(field[0], field[1], *field[2:]))
    return element


def tags(element: etree._Element) -> list[str]:
    return [child.get("tag") for child in element if child.get("tag")]


def fields(element: etree._Element, tag: str) -> list[list[tuple[str, str]]]:
    return [
        [(sub.get("code"), sub.text) for sub in field]
        for field in element
        if field.get("tag") == tag and field.tag == f"{M}datafield"
    ]


def indicators(element: etree._Element, tag: str) -> list[tuple[str, str]]:
    return [(field.get("ind1"), field.get("ind2")) for field in element if field.get("tag") == tag]


BASE = (
    ("008", "230508i18581898xx                  eng d"),
    ("040", [("b", "eng"), ("e", "DACS note")]),
    ("041", [("a", "eng")]),
    ("099", [("a", "C0100")]),
    ("245", [("a", "Papers,"), ("f", "1858-1898")], "1", "0"),
    ("856", [("z", "Finding aid online:"), ("u", "http://arks.princeton.edu/ark:/88435/abc")], "4", "2"),
)
