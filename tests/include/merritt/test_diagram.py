"""The state diagrams in docs/merritt.md are what the code's transition tables draw."""

from __future__ import annotations

import pytest

from include.merritt.diagram import DOC, state_diagram, with_diagrams
from include.merritt.states import BATCH_TRANSITIONS, JOB_TRANSITIONS, BatchState, JobState


def test_doc_diagrams_are_current():
    document = DOC.read_text()
    assert with_diagrams(document) == document, (
        "docs/merritt.md is out of date: run `python -m include.merritt.diagram`"
    )


@pytest.mark.parametrize(
    ("table", "initial"), [(JOB_TRANSITIONS, JobState.PENDING), (BATCH_TRANSITIONS, BatchState.PENDING)]
)
def test_every_allowed_move_is_one_arrow(table, initial):
    arrows = {line.strip() for line in state_diagram(table, initial).splitlines()[2:]}
    moves = {f"{source.value} --> {target.value}" for source, targets in table.items() for target in targets}
    ends = {f"{source.value} --> [*]" for source, targets in table.items() if not targets}
    assert arrows == moves | ends


def test_a_changed_table_makes_the_doc_stale(monkeypatch):
    document = DOC.read_text()
    changed = {**BATCH_TRANSITIONS, BatchState.HELD: frozenset({BatchState.PENDING})}
    monkeypatch.setattr("include.merritt.diagram.BATCH_TRANSITIONS", changed)
    assert with_diagrams(document) != document
