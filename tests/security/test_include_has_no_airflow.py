"""Domain logic under include/ never imports Airflow: it runs and is tested without it.

An AST walk of every module under include/, so an import hidden in a function body
or behind ``TYPE_CHECKING`` is found too.
"""

from __future__ import annotations

import ast

from devstack.settings import REPO_ROOT

FORBIDDEN_ROOTS = {"airflow"}


def airflow_imports(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{filename}:{node.lineno}: {name}" for name in names if name.split(".")[0] in FORBIDDEN_ROOTS]
    return found


def test_no_module_under_include_imports_airflow():
    modules = sorted((REPO_ROOT / "include").rglob("*.py"))
    assert REPO_ROOT / "include/merritt/states.py" in modules  # the walk sees the tree
    found = [hit for path in modules for hit in airflow_imports(path.read_text(), str(path.relative_to(REPO_ROOT)))]
    assert found == [], "include/ must not import Airflow:\n" + "\n".join(found)


def test_the_walk_finds_every_form_of_airflow_import():
    source = "\n".join(
        [
            "import airflow",
            "import airflow.sdk as sdk",
            "from airflow.sdk import BaseOperator",
            "def f():",
            "    from airflow.providers.sftp.hooks.sftp import SFTPHook",
            "import airflowlike",
            "from include.airflow_free import x",
        ]
    )
    assert [hit.split(": ")[1] for hit in airflow_imports(source, "m.py")] == [
        "airflow",
        "airflow.sdk",
        "airflow.sdk",
        "airflow.providers.sftp.hooks.sftp",
    ]


def test_a_file_path_is_named():
    assert airflow_imports("x = 1\nimport airflow\n", "include/x.py") == ["include/x.py:2: airflow"]
