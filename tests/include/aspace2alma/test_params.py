"""The export's run params: bounded, and refused by name when out of bounds or not of their type."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.aspace2alma.params import (
    CONCURRENCY,
    MAX_FAILED_RATIO,
    MIN_REPORT_RATIO,
    REPORT_CUTOFF,
    REPORT_FRESH_AFTER,
    ParamError,
)


def test_rendered_values_within_bounds_are_read():
    assert CONCURRENCY.check("16") == 16 and CONCURRENCY.check(32) == 32 and CONCURRENCY.check(4.0) == 4
    assert MIN_REPORT_RATIO.check("0.9") == 0.9 and MAX_FAILED_RATIO.check(0) == 0.0
    assert REPORT_FRESH_AFTER.check("03:00") == "03:00" and REPORT_CUTOFF.check("23:59") == "23:59"


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (CONCURRENCY, "0", "concurrency is 0, outside 1..32"),
        (CONCURRENCY, 10**6, "concurrency is 1000000, outside 1..32"),
        (CONCURRENCY, "sixteen", "concurrency is 'sixteen', expected an integer"),
        (CONCURRENCY, 2.5, "concurrency is 2.5, expected an integer"),
        (CONCURRENCY, True, "concurrency is True, expected an integer"),
        (CONCURRENCY, "9" * 5000, "expected an integer"),
        (MIN_REPORT_RATIO, "nan", "min_report_ratio is nan, outside 0..1"),
        (MAX_FAILED_RATIO, "1e400", "max_failed_ratio is inf, outside 0..1"),
        (MAX_FAILED_RATIO, -0.1, "max_failed_ratio is -0.1, outside 0..1"),
        (MAX_FAILED_RATIO, None, "max_failed_ratio is 'None', expected a number"),
        (REPORT_FRESH_AFTER, "24:00", "report_fresh_after is '24:00', expected a time of day HH:MM"),
        (REPORT_CUTOFF, "9:00", "report_cutoff is '9:00'"),
        (REPORT_CUTOFF, "09:00\n", "report_cutoff is '09:00\\\\n'"),
    ],
)
def test_out_of_bounds_or_mistyped_values_are_refused_by_name(param, value, message):
    with pytest.raises(ParamError, match=message):
        param.check(value)


def test_the_form_schema_carries_the_same_bounds():
    assert CONCURRENCY.schema == {"type": "integer", "minimum": 1, "maximum": 32}
    assert MAX_FAILED_RATIO.schema == {"type": "number", "minimum": 0, "maximum": 1}
    assert REPORT_CUTOFF.schema["type"] == "string"


@given(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12))
def test_any_value_is_a_bounded_number_or_refused(value):
    for param in (CONCURRENCY, MIN_REPORT_RATIO, MAX_FAILED_RATIO):
        try:
            number = param.check(value)
        except ParamError as error:
            assert str(error).startswith(f"{param.name} is ")
            continue
        assert math.isfinite(number) and param.minimum <= number <= param.maximum
        assert isinstance(number, int) if param.integer else isinstance(number, float)
