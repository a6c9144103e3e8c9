"""A run's summary as Markdown for the DAG run's note, beside whatever a person wrote there.

The note is what the UI shows on the run itself (grid, run header): the summary's figures
and the first few records that need someone, with a pointer to the full summary in XCom.
A person's own text above the summary section is kept; the section is replaced on every
finish of the run (a clear and re-run writes the new figures).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

RUN_SUMMARY_XCOM_KEY = "run_summary"
SUMMARY_HEADING = "#### Run summary"
NOTE_LIMIT = 1000  # Airflow's dag_run_note.content is VARCHAR(1000)
SHOWN_PER_ENTRY = 3
FULL_SUMMARY = "(the whole summary: XCom `run_summary` of the run's summary task)"
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+!|~-])")
_LINE_BREAKS = re.compile(r"\s+")


def note_with_summary(existing: str | None, summary: Mapping[str, Any], *, limit: int = NOTE_LIMIT) -> str | None:
    """The note to store: the person's text of ``existing`` (its old summary section dropped)
    and the summary section, within ``limit`` characters; lines that do not fit are left out
    with a pointer to the full summary. ``None`` when the section does not fit beside the
    person's text (the note is then left as the person wrote it)."""
    human = (existing or "").split(SUMMARY_HEADING, 1)[0].rstrip()
    prefix = f"{human}\n\n" if human else ""
    lines = [f"- {_escaped(key)}: {_rendered(value)}" for key, value in _flattened(summary)]
    fixed = len(prefix) + len(SUMMARY_HEADING) + len(FULL_SUMMARY) + 2  # two line breaks
    if fixed + len(_more(len(lines))) + 1 > limit:
        return None
    kept = _fitting(lines, limit - fixed)
    if len(kept) < len(lines):
        kept = _fitting(lines, limit - fixed - len(_more(len(lines))) - 1)
        kept.append(_more(len(lines) - len(kept)))
    return prefix + "\n".join([SUMMARY_HEADING, *kept, FULL_SUMMARY])


def _fitting(lines: list[str], room: int) -> list[str]:
    """The leading ``lines`` whose text and line breaks fit in ``room`` characters."""
    kept = []
    for line in lines:
        room -= len(line) + 1
        if room < 0:
            break
        kept.append(line)
    return kept


def _more(count: int) -> str:
    return f"- … {count} more line(s)"


def _flattened(summary: Mapping[str, Any], parent: str = "") -> list[tuple[str, Any]]:
    """``{"export": {"written": 3}}`` -> ``[("export / written", 3)]``: one level of steps
    (RunSummaryOperator's ``{name: step result}``), deeper values rendered as they are; in
    key order, as the metadata DB's JSON may not keep the order the task wrote."""
    pairs: list[tuple[str, Any]] = []
    for key, value in sorted(summary.items(), key=lambda item: str(item[0])):
        name = f"{parent} / {key}" if parent else str(key)
        if isinstance(value, Mapping) and not parent and value and not _is_records(value):
            pairs.extend(_flattened(value, name))
        else:
            pairs.append((name, value))
    return pairs


def _is_records(value: Mapping[str, Any]) -> bool:
    """A ``{record: reason}`` mapping (every value a string), shown as records, not as steps."""
    return all(isinstance(reason, str) for reason in value.values())


def _rendered(value: Any) -> str:
    if isinstance(value, Mapping):
        shown = [f"{_escaped(record)} ({_escaped(reason)})" for record, reason in list(value.items())[:SHOWN_PER_ENTRY]]
        return _counted(len(value), shown)
    if isinstance(value, (list, tuple, set)):
        shown = [_escaped(item) for item in list(value)[:SHOWN_PER_ENTRY]]
        return _counted(len(value), shown)
    return _escaped(value)


def _counted(total: int, shown: list[str]) -> str:
    if total == 0:
        return "none"
    more = f", … {total - len(shown)} more" if total > len(shown) else ""
    return f"{total}: " + ", ".join(shown) + more


def _escaped(value: Any) -> str:
    """Plain text in Markdown: one line, no markup, links or HTML from record names or reasons
    (they come from outside: URIs, manifest cells, server messages)."""
    text = _LINE_BREAKS.sub(" ", str(value)).strip()
    if len(text) > 200:
        text = text[:199] + "…"
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)
