"""The run params of the ``aspace2alma`` export: defaults and bounds, defined once.

The DAG's params form is built from these (its JSON schema refuses a value out of
bounds before a run starts) and the operators check the rendered value again with
`RunParam.check`, since a templated param reaches them as text and code can pass
anything. A refused value is a `ParamError` naming the param.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any


class ParamError(ValueError):
    """A run param out of its bounds or not of its type; the message names the param."""


@dataclass(frozen=True)
class NumberParam:
    name: str
    default: int | float
    minimum: int | float
    maximum: int | float
    integer: bool = False

    @property
    def schema(self) -> dict[str, Any]:
        """Keyword arguments of Airflow's ``Param`` beyond the default and description."""
        return {"type": "integer" if self.integer else "number", "minimum": self.minimum, "maximum": self.maximum}

    def check(self, value: Any) -> int | float:
        kind = "an integer" if self.integer else "a number"
        if isinstance(value, bool):
            raise ParamError(f"{self.name} is {value!r}, expected {kind}")
        if self.integer and isinstance(value, float) and not value.is_integer():
            raise ParamError(f"{self.name} is {value!r}, expected {kind}")
        try:
            number = int(value) if self.integer else float(value)
        except (TypeError, ValueError, OverflowError) as error:
            raise ParamError(f"{self.name} is {str(value)[:40]!r}, expected {kind}") from error
        if not (math.isfinite(number) and self.minimum <= number <= self.maximum):
            raise ParamError(f"{self.name} is {number}, outside {self.minimum}..{self.maximum}")
        return number


@dataclass(frozen=True)
class TimeOfDayParam:
    name: str
    default: str

    PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

    @property
    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": self.PATTERN}

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(self.PATTERN, value):
            raise ParamError(f"{self.name} is {str(value)[:40]!r}, expected a time of day HH:MM (00:00 to 23:59)")
        return value


RunParam = NumberParam | TimeOfDayParam

# 24: the measured knee of export time vs concurrency ("Benchmark" in docs/aspace2alma.md).
CONCURRENCY = NumberParam("concurrency", 24, 1, 32, integer=True)
MIN_REPORT_RATIO = NumberParam("min_report_ratio", 0.9, 0, 1)
# Why 5%: see "Skipped resources" in docs/aspace2alma.md.
MAX_FAILED_RATIO = NumberParam("max_failed_ratio", 0.05, 0, 1)
REPORT_FRESH_AFTER = TimeOfDayParam("report_fresh_after", "03:00")
REPORT_CUTOFF = TimeOfDayParam("report_cutoff", "09:00")
