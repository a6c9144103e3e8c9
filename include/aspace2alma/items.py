"""Item fields (949) for the top containers Alma does not know yet."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree

from include.aspace2alma.marc import new_datafield
from include.aspace2alma.rules import SOURCE_CODE

RECAP_LOCATION = re.compile(r"^(sca)?rcp[a-z]+")
_FIRST_INTEGER = re.compile(r"\d+")

TopContainer = Mapping[str, Any]


def first_location_code(container: TopContainer) -> str | None:
    """The location code (``classification``) of the container's FIRST location, if any."""
    locations = container.get("container_locations") or []
    if not locations:
        return None
    return ((locations[0] or {}).get("_resolved") or {}).get("classification")


def needs_item(container: TopContainer, report_barcodes: frozenset[str] | set[str]) -> bool:
    """A barcode, a ReCAP first location, and not in Alma's report."""
    barcode = (container.get("barcode") or "").strip()
    code = first_location_code(container)
    return bool(barcode) and bool(code and RECAP_LOCATION.match(code)) and barcode not in report_barcodes


def indicator_order(container: TopContainer) -> float:
    """The first integer in the indicator ("B-12" -> 12); containers without one go last."""
    match = _FIRST_INTEGER.search(str(container.get("indicator") or ""))
    return int(match.group()) if match else float("inf")


def item_field(container: TopContainer, call_number: str) -> etree._Element:
    return new_datafield(
        "949",
        [
            ("a", container["barcode"].strip()),
            ("b", f"{container.get('type', '')} {container.get('indicator', '')}"),
            ("c", first_location_code(container)),
            ("d", f"({SOURCE_CODE}){call_number}"),
        ],
    )


def item_fields(
    containers: Iterable[TopContainer], call_number: str, report_barcodes: frozenset[str] | set[str]
) -> list[etree._Element]:
    """One 949 per qualifying container, ordered by indicator (stable for ties)."""
    wanted = sorted((c for c in containers if needs_item(c, report_barcodes)), key=indicator_order)
    return [item_field(container, call_number) for container in wanted]
