"""What a panel hands the page: titled tables of plain cells, links and code, so the template stays generic."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    text: str
    href: str
    # the view runs in an iframe of Airflow's UI: links into the UI replace the whole page
    top: bool = True


@dataclass(frozen=True)
class Code:
    text: str


Cell = str | int | Link | Code | None


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = "none"
    note: str = ""


@dataclass
class PanelResult:
    """One panel as rendered: its tables, or what failed; how long it took."""

    title: str = ""  # the app's name for the panel
    tables: list[Table] = field(default_factory=list)
    facts: list[tuple[str, Cell]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
