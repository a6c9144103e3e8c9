"""Deletion-list checks: every failing item is named with its reason, or the plan is returned."""

from __future__ import annotations

import pytest

from include.aptrust.deletion import (
    DeletionListRejected,
    RegistryItem,
    check_deletion_list,
    requested_identifiers,
    same_person,
)


def _object(identifier, institution="test.edu", state="A", pending=()):
    return RegistryItem("object", identifier, 1, None, 1, institution, state, tuple(pending))


def _file(identifier, institution="test.edu", state="A", pending=()):
    return RegistryItem("file", identifier, 1, 5, 1, institution, state, tuple(pending))


def test_a_clean_list_comes_back_in_list_order():
    found = [_file("test.edu/b/data/x"), _object("test.edu/a")]
    plan = check_deletion_list("test.edu", ["test.edu/a", "test.edu/b/data/x"], found)
    assert [item.identifier for item in plan] == ["test.edu/a", "test.edu/b/data/x"]


def test_every_failing_item_is_reported_with_its_reason():
    found = [_object("test.edu/gone", state="D"), _object("test.edu/busy", pending=[7, 9]), _object("test.edu/ok")]
    with pytest.raises(DeletionListRejected) as rejected:
        check_deletion_list("test.edu", ["test.edu/ok", "test.edu/nope", "test.edu/gone", "test.edu/busy"], found)
    assert [str(p) for p in rejected.value.problems] == [
        "test.edu/nope: not found",
        "test.edu/gone: conflict: already deleted",
        "test.edu/busy: conflict: pending WorkItem(s) 7, 9",
    ]
    assert "nothing was created" in str(rejected.value)


def test_a_list_mixing_institutions_is_rejected():
    found = [_object("test.edu/a"), _object("other.edu/b", institution="other.edu")]
    with pytest.raises(DeletionListRejected) as rejected:
        check_deletion_list("test.edu", ["test.edu/a", "other.edu/b"], found)
    reasons = [str(p) for p in rejected.value.problems]
    assert reasons[0] == "(list): mixes institutions: other.edu, test.edu"
    assert "other.edu/b: belongs to another institution (other.edu, not test.edu)" in reasons


def test_an_empty_list_is_rejected_and_duplicates_are_dropped():
    with pytest.raises(DeletionListRejected):
        check_deletion_list("test.edu", requested_identifiers([" ", ""]), [])
    assert requested_identifiers([" test.edu/a", "test.edu/a", "test.edu/b"]) == ["test.edu/a", "test.edu/b"]


def test_same_person_compares_ids_and_names_case_insensitively():
    assert same_person("Ann@Test.edu", ["42", "ann@test.edu"])
    assert not same_person("ann@test.edu", ["carol@test.edu", None])
