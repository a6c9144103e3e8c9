"""The SQL module: named placeholders only, nothing left unformatted, one DDL file."""

from __future__ import annotations

import re

from devstack.demo_seed_aptrust import registry_ddl
from include.aptrust import sql

STATEMENTS = {
    name: value
    for name, value in vars(sql).items()
    if name.isupper() and not name.startswith("_") and isinstance(value, str)
}


def test_every_statement_takes_values_only_through_named_placeholders():
    assert len(STATEMENTS) > 20
    for name, statement in STATEMENTS.items():
        without_placeholders = re.sub(r"%\(\w+\)s", "", statement)
        assert "%" not in without_placeholders, f"{name}: a bare % (positional placeholder or modulo)"
        assert "{" not in statement and "}" not in statement, f"{name}: an unformatted template"


def test_the_ddl_is_idempotent_by_construction():
    ddl = registry_ddl()
    creates = re.findall(r"CREATE (?:TABLE|INDEX) (?!IF NOT EXISTS)", ddl)
    assert creates == []
    assert "PRIMARY KEY (institution_id, month)" in ddl  # one spot test per institution per month
