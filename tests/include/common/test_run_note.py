"""The run summary as a run note: figures and first records, the person's text kept, the
column's limit never exceeded, outside text never turned into markup."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from include.common.run_note import FULL_SUMMARY, NOTE_LIMIT, SUMMARY_HEADING, note_with_summary

EXPORT = {
    "written": 9412,
    "skipped_suppressed": 12,
    "failed": {
        "/repositories/2/resources/17": "ArchivesSpace answered 500",
        "/repositories/2/resources/18": "top container 4: barcode is not a string",
        "/repositories/2/resources/19": "resource title holds U+000B",
        "/repositories/2/resources/20": "timed out",
    },
}


def test_figures_and_the_first_records_that_need_someone_in_key_order():
    note = note_with_summary(None, EXPORT)

    assert note.splitlines() == [
        SUMMARY_HEADING,
        "- failed: 4: /repositories/2/resources/17 (ArchivesSpace answered 500), "
        "/repositories/2/resources/18 (top container 4: barcode is not a string), "
        "/repositories/2/resources/19 (resource title holds U\\+000B), … 1 more",
        "- skipped\\_suppressed: 12",
        "- written: 9412",
        FULL_SUMMARY,
    ]


def test_steps_are_flattened_one_level_and_empty_lists_say_none():
    note = note_with_summary(None, {"staging": {"jobs": 3, "parked": []}, "report": None})

    assert note.splitlines()[1:-1] == ["- report: None", "- staging / jobs: 3", "- staging / parked: none"]


def test_a_persons_text_is_kept_and_the_old_summary_replaced():
    first = note_with_summary("Re-run after fixing the barcode of box 4.", {"written": 1})
    second = note_with_summary(first, {"written": 2})

    assert second == f"Re-run after fixing the barcode of box 4.\n\n{SUMMARY_HEADING}\n- written: 2\n{FULL_SUMMARY}"


def test_lines_that_do_not_fit_are_counted_not_cut():
    summary = {f"step{n}": "x" * 80 for n in range(30)}

    note = note_with_summary(None, summary)

    assert len(note) <= NOTE_LIMIT
    kept = [line for line in note.splitlines() if line.startswith("- step")]
    assert note.splitlines()[-2] == f"- … {30 - len(kept)} more line(s)"
    assert all(line.endswith("x" * 80) for line in kept)


def test_no_room_beside_a_long_persons_note_leaves_it_alone():
    assert note_with_summary("n" * 990, {"written": 1}) is None


def test_markup_and_line_breaks_from_outside_stay_text():
    note = note_with_summary(None, {"failed": {"[click](javascript:alert(1))": "<img src=x>\n# heading"}})

    [line] = note.splitlines()[1:-1]
    assert not re.search(r"(?<!\\)[\[\]<>#]", line)  # every bracket, angle and hash escaped
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in line and "\\<img src=x\\> \\# heading" in line


summaries = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=300)),
    lambda children: st.one_of(
        st.lists(children, max_size=8), st.dictionaries(st.text(max_size=60), children, max_size=8)
    ),
    max_leaves=40,
)


@given(
    human=st.one_of(st.none(), st.text(max_size=1200)),
    summary=st.dictionaries(st.text(max_size=60), summaries, max_size=30),
)
def test_any_summary_fits_the_column_and_reapplying_changes_nothing(human, summary):
    note = note_with_summary(human, summary)

    if note is None:
        return
    assert len(note) <= NOTE_LIMIT
    assert note.count(SUMMARY_HEADING) == 1 and note.endswith(FULL_SUMMARY)
    assert note_with_summary(note, summary) == note
