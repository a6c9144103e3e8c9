"""The Pipelines view's registry reads: named placeholders only, and reads only."""

from __future__ import annotations

import re

from include.aptrust import overview_sql

STATEMENTS = {name: value for name, value in vars(overview_sql).items() if name.isupper() and isinstance(value, str)}


def test_statements_take_values_only_through_named_placeholders_and_only_read():
    assert set(STATEMENTS) == {"SPOT_TESTS_OF_MONTH", "MAIL_NOT_SENT"}
    for name, statement in STATEMENTS.items():
        assert "%" not in re.sub(r"%\(\w+\)s", "", statement), name
        assert statement.lstrip().startswith("SELECT"), name
        assert not re.search(r"\b(INSERT|UPDATE|DELETE|FOR UPDATE)\b", statement), name
