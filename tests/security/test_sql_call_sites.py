"""SQL reaches a database only as a fixed statement with separate parameters.

The statements themselves are checked in tests/include/aptrust/test_sql.py (named
placeholders only); this test walks every call site in the deployed code (dags/,
plugins/, include/) and fails on SQL built inline from values: an f-string, ``%`` or
``+`` on strings, or ``.format()`` as the statement of ``execute``/``executemany``/the
DB-API hooks' ``run``/``get_records``/``get_first``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from devstack.settings import REPO_ROOT

DEPLOYED = ("dags", "plugins", "include")
SQL_CALLS = {"execute", "executemany", "get_records", "get_first", "get_df", "get_pandas_df"}
HOOK_SQL_CALLS = {"run"}  # DbApiHook.run(sql, ...): only when called with ``sql=``/``parameters=``


def _built_inline(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _statement_argument(call: ast.Call) -> ast.AST | None:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else None
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    if name in SQL_CALLS:
        return call.args[0] if call.args else keywords.get("sql") or keywords.get("query")
    if name in HOOK_SQL_CALLS and ({"sql", "parameters"} & set(keywords)):
        return keywords.get("sql") or (call.args[0] if call.args else None)
    return None


def inline_sql(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and (statement := _statement_argument(node)) is not None:
            if _built_inline(statement):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(statement)[:80]}")
    return found


def deployed_python_files() -> list[Path]:
    return sorted(path for folder in DEPLOYED for path in (REPO_ROOT / folder).rglob("*.py"))


def test_no_deployed_code_builds_sql_from_values():
    files = deployed_python_files()
    assert (
        REPO_ROOT / "plugins/preservation_pipelines/aptrust/hooks/registry.py" in files
    )  # the registry hook is walked
    found = [hit for path in files for hit in inline_sql(path.read_text(), str(path.relative_to(REPO_ROOT)))]
    assert found == []


@pytest.mark.parametrize(
    "statement",
    [
        'cursor.execute(f"SELECT * FROM t WHERE id = {item_id}")',
        'cursor.execute("SELECT * FROM t WHERE id = %s" % item_id)',
        'cursor.execute("SELECT * FROM t WHERE id = " + item_id)',
        'hook.get_records("SELECT * FROM t WHERE id = {}".format(item_id))',
        'hook.run(sql=f"DELETE FROM t WHERE id = {item_id}")',
    ],
)
def test_the_check_catches_sql_built_from_values(statement):
    assert inline_sql(statement, "example.py") != []


def test_the_check_accepts_fixed_statements_with_parameters():
    source = 'cursor.execute(sql.MARK_QUEUED, {"ids": ids})\ncursor.execute("SELECT 1")\nhook.get_records(statement, parameters)'
    assert inline_sql(source, "example.py") == []
