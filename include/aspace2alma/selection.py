"""Record selection: which transformed records go to Alma."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from include.aspace2alma.marc import datafields

# Exact matches on the whole 099$a; the run param / Variable can replace the list.
DEFAULT_EXCLUDED_CALL_NUMBERS = (
    "C0140", "C1771", "AC214", "AC364", "C0744.06", "C0935", "C1296", "WC059", "RBD1", "RBD1.1",
)  # fmt: skip


def exclusion_list(value: str | Iterable[str] | None) -> frozenset[str]:
    """The excluded call numbers from a whitespace/comma separated string or a list."""
    if value is None:
        return frozenset(DEFAULT_EXCLUDED_CALL_NUMBERS)
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    return frozenset(item.strip() for item in items if item.strip())


def exclusion_reason(record: etree._Element, call_number: str, excluded: frozenset[str]) -> str | None:
    """Why the record is not written (None when it is): no 856, or a call number on the list."""
    if not datafields(record, "856"):
        return "no 856"
    if call_number in excluded:
        return f"call number {call_number} is on the exclusion list"
    return None
