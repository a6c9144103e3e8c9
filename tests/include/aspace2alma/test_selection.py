from __future__ import annotations

from include.aspace2alma.selection import DEFAULT_EXCLUDED_CALL_NUMBERS, exclusion_list, exclusion_reason
from tests.include.aspace2alma.marc_builders import BASE, record


def test_exclusion_list_sources():
    assert exclusion_list(None) == frozenset(DEFAULT_EXCLUDED_CALL_NUMBERS)
    assert exclusion_list("C0140, RBD1\nAC214") == {"C0140", "RBD1", "AC214"}
    assert exclusion_list(["C1", " "]) == {"C1"}


def test_a_record_needs_an_856_and_a_call_number_not_on_the_list():
    excluded = exclusion_list(None)
    assert exclusion_reason(record(*BASE), "C0100", excluded) is None
    assert exclusion_reason(record(*BASE), "C0744.06", excluded) == "call number C0744.06 is on the exclusion list"
    assert exclusion_reason(record(*BASE), "C0744", excluded) is None  # exact match only
    assert exclusion_reason(record(*(f for f in BASE if f[0] != "856")), "C0100", excluded) == "no 856"
