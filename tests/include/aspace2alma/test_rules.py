"""Each transformation rule on its own, on small hand-made records."""

from __future__ import annotations

import pytest

from include.aspace2alma import rules
from tests.include.aspace2alma.marc_builders import BASE, fields, indicators, record, tags


def test_rule1_removes_empty_elements_recursively():
    element = record(("049", []), ("500", [("a", "")]), ("245", [("a", "Title"), ("b", "  ")]))
    rules.remove_empty_elements(element)
    assert tags(element) == ["245"]
    assert fields(element, "245") == [[("a", "Title")]]


def test_rule1_turns_line_breaks_inside_subfields_into_one_space():
    element = record(("520", [("a", "One.\r\n\r\n Two.\nThree.\rFour.")]))
    rules.flatten_line_breaks(element)
    assert fields(element, "520") == [[("a", "One.  Two. Three. Four.")]]


def test_rule2_adds_001_003_before_008_and_035_after_it():
    element = record(*BASE)
    rules.add_identifiers(element, "C0100")
    assert tags(element)[:5] == ["001", "003", "008", "035", "040"]
    assert element[1].text == "C0100" and element[2].text == "PULFA"
    assert fields(element, "035") == [[("a", "(PULFA)C0100")]]


def test_rule3_replaces_every_040():
    element = record(("040", [("b", "eng")], "1", "2"), ("040", [("a", "X")]))
    rules.replace_cataloging_source(element)
    assert fields(element, "040") == [[("a", "NjP"), ("b", "eng"), ("e", "dacs"), ("c", "NjP")]] * 2
    assert indicators(element, "040") == [(" ", " "), (" ", " ")]


def test_rule4_adds_046_after_041_from_008_dates():
    element = record(*BASE)
    rules.add_date_field(element)
    assert tags(element).index("046") == tags(element).index("041") + 1
    assert fields(element, "046") == [[("a", "i"), ("c", "1858"), ("e", "1898")]]


def test_rule5_marks_bulk_dates():
    element = record(("245", [("a", "Papers,"), ("g", "1895-1897")]))
    rules.mark_bulk_dates(element)
    assert fields(element, "245") == [[("a", "Papers,"), ("g", "(mostly 1895-1897)")]]


def test_rule6_truncates_each_520a_and_keeps_every_520():
    element = record(("520", [("a", "x" * 9000)]), ("520", [("a", "short")]))
    rules.truncate_summaries(element)
    assert [len(f[0][1]) for f in fields(element, "520")] == [7999, 5]


def test_rule7_splits_run_together_headings_into_x_and_y():
    element = record(("650", [("a", "Universities and colleges -- Alumni and alumnae -- 20th century.")], " ", "0"))
    rules.subdivide_subjects(element)
    assert fields(element, "650") == [
        [("a", "Universities and colleges"), ("x", "Alumni and alumnae"), ("y", "20th century.")]
    ]


@pytest.mark.parametrize("heading", ["Theater - United States - History.", "Poetry --Translations into English."])
def test_rule7_leaves_near_misses_alone(heading):
    element = record(("650", [("a", heading)], " ", "0"))
    rules.subdivide_subjects(element)
    assert fields(element, "650") == [[("a", heading)]]


def test_rule7_recodes_viaf_and_drops_source_viaf():
    element = record(
        ("600", [("a", "Gödel, Kurt."), ("0", "https://viaf.org/viaf/46808585"), ("2", "viaf")], "1", "7"),
        ("600", [("a", "Hopper, Grace Murray."), ("2", "local")], "1", "7"),
        ("600", [("a", "Someone."), ("0", "http://id.loc.gov/authorities/names/n1")], "1", "0"),
        ("100", [("a", "Creator,"), ("0", "https://viaf.org/viaf/1")], "1", " "),
    )
    rules.subdivide_subjects(element)
    assert fields(element, "600") == [
        [("a", "Gödel, Kurt."), ("1", "https://viaf.org/viaf/46808585")],
        [("a", "Hopper, Grace Murray."), ("2", "local")],
        [("a", "Someone."), ("0", "http://id.loc.gov/authorities/names/n1")],
    ]
    assert indicators(element, "600") == [("1", "0"), ("1", "7"), ("1", "0")]
    assert fields(element, "100") == [[("a", "Creator,"), ("0", "https://viaf.org/viaf/1")]]  # not a subject tag


def test_rule7_leaves_already_subdivided_fields_alone():
    subdivided = [("a", "Jazz"), ("z", "United States"), ("x", "History")]
    element = record(("650", subdivided, " ", "0"))
    rules.subdivide_subjects(element)
    assert fields(element, "650") == [subdivided]


def test_rule8_deletes_every_852():
    element = record(("852", [("a", "x")]), ("245", [("a", "t")]), ("852", [("b", "y")]))
    rules.delete_fields(element, ["852"])
    assert tags(element) == ["245"]


def test_rule9_replaces_only_the_first_856():
    element = record(
        ("856", [("z", "Finding aid online:"), ("u", "http://ark/1")], "4", "1"),
        ("856", [("z", "Digital content:"), ("u", "https://dpul/1")], "4", "1"),
    )
    rules.replace_finding_aid_link(element)
    assert fields(element, "856") == [
        [("z", "Search and Request"), ("u", "http://ark/1"), ("y", "Princeton University Library Finding Aids")],
        [("z", "Digital content:"), ("u", "https://dpul/1")],
    ]
    assert indicators(element, "856") == [("4", "2"), ("4", "1")]


@pytest.mark.parametrize(
    ("note", "codes"),
    [
        ("Location of resource: scamudd.", ["scamudd"]),
        ("Location of resource: scamss scarcpph.", ["scamss", "scarcpph"]),
        ("Location of resource: rcpxg.", ["rcpxg"]),
        ("Location of original: Historical Society of Pennsylvania.", []),
        ("Location of resource: Firestone vault.", []),
    ],
)
def test_rule10_location_codes(note, codes):
    assert rules.location_codes(note) == codes


def test_rule10_adds_one_982_per_code_at_the_end():
    element = record(("500", [("a", "Location of resource: scamss scarcpph.")]), ("856", [("u", "x")]))
    rules.add_location_fields(element)
    assert tags(element)[-2:] == ["982", "982"]
    assert fields(element, "982") == [[("c", "scamss")], [("c", "scarcpph")]]


def test_rule12_deletes_the_listed_notes_and_keeps_the_rest():
    kept = ["245", "300", "506", "520", "545", "546", "555", "584", "650"]
    deleted = ["351", "500", "524", "535", "540", "541", "544", "561", "583"]
    element = record(*((tag, [("a", tag)]) for tag in sorted(kept + deleted)))
    rules.delete_fields(element, rules.DELETED_TAGS)
    assert tags(element) == kept


@pytest.mark.parametrize(("missing", "expected"), [("099", "099$a"), ("008", "008"), ("041", "041")])
def test_records_missing_a_required_field_are_data_errors(missing, expected):
    element = record(*(field for field in BASE if field[0] != missing))
    with pytest.raises(rules.RecordDataError, match=expected.replace("$", r"\$")):
        rules.clean_and_check(element)


def test_clean_and_check_returns_the_call_number():
    assert rules.clean_and_check(record(*BASE)) == "C0100"
