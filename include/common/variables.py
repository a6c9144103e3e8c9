"""Infrastructure names (tables, topics, folders) come from Airflow Variables, not from trigger forms."""

from __future__ import annotations


def variable_or_default(variable: str, default: str) -> str:
    """The Jinja template an operator field renders to: the Variable's value, or ``default`` while it is unset."""
    return f"{{{{ var.value.get({variable!r}, {default!r}) }}}}"
