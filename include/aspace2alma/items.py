"""Item fields (949) for the top containers Alma does not know yet."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from include.aspace2alma.aspace_data import TopContainer
from include.aspace2alma.marc import new_datafield
from include.aspace2alma.rules import SOURCE_CODE

RECAP_LOCATION = re.compile(r"^(sca)?rcp[a-z]+")
_FIRST_INTEGER = re.compile(r"\d+")


def needs_item(container: TopContainer, report_barcodes: frozenset[str] | set[str]) -> bool:
    """A barcode, a ReCAP first location, and not in Alma's report."""
    code = container.location_code
    return (
        bool(container.barcode)
        and bool(code and RECAP_LOCATION.match(code))
        and (container.barcode not in report_barcodes)
    )


def indicator_order(container: TopContainer) -> float:
    """The first integer in the indicator ("B-12" -> 12); containers without one go last."""
    match = _FIRST_INTEGER.search(container.indicator)
    return int(match.group()) if match else float("inf")


def item_field(container: TopContainer, call_number: str) -> etree._Element:
    return new_datafield(
        "949",
        [
            ("a", container.barcode),
            ("b", f"{container.type} {container.indicator}"),
            ("c", container.location_code),
            ("d", f"({SOURCE_CODE}){call_number}"),
        ],
    )


def item_fields(
    containers: Iterable[TopContainer], call_number: str, report_barcodes: frozenset[str] | set[str]
) -> list[etree._Element]:
    """One 949 per qualifying container, ordered by indicator (stable for ties)."""
    wanted = sorted((c for c in containers if needs_item(c, report_barcodes)), key=indicator_order)
    return [item_field(container, call_number) for container in wanted]
