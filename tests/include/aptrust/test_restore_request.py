"""Restoration requests: params parsed, every failing line named with the spec's reason, and the
WorkItem's values as the registry writes a restore (action by the object's storage option,
the last successful ingest or the documented fallback)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.aptrust.inputs import control_characters
from include.aptrust.limits import MAX_IDENTIFIER_LENGTH, MAX_IDENTIFIERS
from include.aptrust.restore_request import (
    Requester,
    RestorationListRejected,
    RestorationRequest,
    RestoreItem,
    judge_restoration_list,
    parse_restoration_request,
    resolved,
    restore_action,
    restore_work_item,
)

ANN = Requester(1, "ann@test.edu", "institutional_user", 10, "test.edu")
ROOT = Requester(2, "ops@aptrust.org", "admin", 99, "aptrust.org")
CREATED = datetime(2023, 1, 2, tzinfo=UTC)
INGESTED = datetime(2024, 5, 1, tzinfo=UTC)


def _object(identifier="test.edu/bag", **changes) -> RestoreItem:
    item = RestoreItem(
        kind="object",
        identifier=identifier,
        generic_file_id=None,
        file_state=None,
        intellectual_object_id=1,
        object_identifier=identifier,
        object_state="A",
        bag_name=identifier.split("/", 1)[1],
        storage_option="Standard",
        object_etag="object-etag",
        object_created_at=CREATED,
        institution_id=10,
        institution="test.edu",
        receiving_bucket="aptrust.receiving.test.edu",
        last_name="bag.tar",
        last_etag="ingest-etag",
        last_bucket="aptrust.receiving.test.edu",
        last_bag_date=INGESTED,
        last_institution_id=10,
        size=3072,
    )
    return replace(item, **changes)


def _file(identifier="test.edu/bag/data/f.txt", object_identifier="test.edu/bag", **changes) -> RestoreItem:
    whole = _object(object_identifier)
    return replace(
        whole, **{"kind": "file", "identifier": identifier, "generic_file_id": 5, "file_state": "A", **changes}
    )


def _judge(identifiers, found, users=(ANN,), requester="ann@test.edu"):
    request = RestorationRequest(requester, tuple(identifiers))
    return judge_restoration_list(request, list(users), {item.identifier: item for item in found})


def _lines(rejected) -> list[str]:
    return [str(problem) for problem in rejected.value.problems]


def test_a_clean_list_comes_back_in_list_order_with_the_requester():
    requester, items = _judge(
        ["test.edu/bag/data/f.txt", "test.edu/other"],
        [_object("test.edu/other", intellectual_object_id=2), _file()],
    )
    assert requester == ANN
    assert [item.identifier for item in items] == ["test.edu/bag/data/f.txt", "test.edu/other"]


def test_every_failing_line_is_named_with_the_specs_reason():
    found = [
        _object("test.edu/gone", object_state="D"),
        _object("test.edu/busy", pending_work_item_ids=(7, 9)),
        _file("test.edu/gone/data/f", "test.edu/gone", object_state="D"),
        _file("test.edu/ok/data/deleted", "test.edu/ok", file_state="D"),
        _file("test.edu/busy/data/f", "test.edu/busy", pending_work_item_ids=(9,)),
        _object("test.edu/never", last_name=None, object_etag=None),
        _object("test.edu/fine", intellectual_object_id=3),
    ]
    with pytest.raises(RestorationListRejected) as rejected:
        _judge([*(item.identifier for item in found), "test.edu/nope"], found)
    assert _lines(rejected) == [
        "test.edu/gone: deleted",
        "test.edu/busy: pending work (WorkItem 7, 9)",
        "test.edu/gone/data/f: deleted (its object test.edu/gone is deleted)",
        "test.edu/ok/data/deleted: deleted",
        "test.edu/busy/data/f: pending work on its object test.edu/busy or its files (WorkItem 9)",
        "test.edu/never: no ingest record (no successful ingest WorkItem and no etag on test.edu/never)",
        "test.edu/nope: not found",
    ]
    assert "nothing was created" in str(rejected.value) and "test.edu/fine" not in str(rejected.value)


def test_a_file_whose_object_is_in_the_same_request_conflicts_but_sibling_files_may_go_together():
    whole = _object("test.edu/bag")
    with pytest.raises(RestorationListRejected) as rejected:
        _judge(["test.edu/bag", "test.edu/bag/data/f.txt"], [whole, _file()])
    assert _lines(rejected) == ["test.edu/bag/data/f.txt: conflict (object restored in the same request): test.edu/bag"]

    siblings = [_file("test.edu/bag/data/a"), _file("test.edu/bag/data/b", generic_file_id=6)]
    assert len(_judge(["test.edu/bag/data/a", "test.edu/bag/data/b"], siblings)[1]) == 2


def test_an_unknown_requester_and_the_other_lines_are_reported_together():
    with pytest.raises(RestorationListRejected) as rejected:
        _judge(["test.edu/bag", "test.edu/nope"], [_object()], users=(), requester="nobody@test.edu")
    assert _lines(rejected) == ["(requester) nobody@test.edu: unknown requester", "test.edu/nope: not found"]


def test_institutional_users_restore_their_own_institution_only_and_aptrust_admins_any():
    theirs = _object("other.edu/bag", institution_id=20, institution="other.edu")
    with pytest.raises(RestorationListRejected) as rejected:
        _judge(["other.edu/bag"], [theirs])
    assert _lines(rejected) == ["other.edu/bag: forbidden (an item of other.edu; ann@test.edu is a user of test.edu)"]
    assert _judge(["other.edu/bag"], [theirs], users=(ROOT,), requester=ROOT.email)[0] == ROOT


def test_a_list_mixing_institutions_is_rejected_even_for_an_aptrust_admin():
    found = [
        _object("test.edu/a"),
        _object("other.edu/b", intellectual_object_id=2, institution_id=20, institution="other.edu"),
    ]
    with pytest.raises(RestorationListRejected) as rejected:
        _judge(["test.edu/a", "other.edu/b"], found, users=(ROOT,), requester=ROOT.email)
    assert _lines(rejected) == ["(list): mixes institutions: other.edu, test.edu"]


def test_an_identifier_naming_an_object_and_a_file_is_the_object():
    found = resolved(["test.edu/x"], [_object("test.edu/x")], [_file("test.edu/x")])
    assert found["test.edu/x"].kind == "object"


@pytest.mark.parametrize(
    ("storage_option", "kind", "action"),
    [
        ("Standard", "object", "Restore Object"),
        ("Standard", "file", "Restore File"),
        ("Wasabi-VA", "file", "Restore File"),
        ("Glacier-OH", "object", "Glacier Restore"),
        ("Glacier-Deep-VA", "file", "Glacier Restore"),  # by the object's option, also for one file
    ],
)
def test_the_action_follows_the_objects_storage_option(storage_option, kind, action):
    item = _object(storage_option=storage_option) if kind == "object" else _file(storage_option=storage_option)
    assert restore_action(item) == action


def test_a_restore_repeats_the_last_successful_ingest_and_writes_the_objects_size():
    values = restore_work_item(_file(size=4096), "ann@test.edu")
    assert values == {
        "name": "bag.tar",
        "etag": "ingest-etag",
        "bucket": "aptrust.receiving.test.edu",
        "bag_date": INGESTED,
        "institution_id": 10,
        "intellectual_object_id": 1,
        "generic_file_id": 5,
        "user": "ann@test.edu",
        "action": "Restore File",
        "stage": "Requested",
        "status": "Pending",
        "retry": True,
        "note": "Not started",
        "outcome": "Not started",
        "size": 4096,
    }


def test_without_an_ingest_record_the_object_and_its_institution_stand_in():
    values = restore_work_item(_object(last_name=None, last_etag=None, last_bucket=None, last_bag_date=None), "a@b.edu")
    assert (values["name"], values["etag"], values["bucket"], values["bag_date"]) == (
        "bag.tar",
        "object-etag",
        "aptrust.receiving.test.edu",
        CREATED,
    )
    with pytest.raises(ValueError, match="no ingest record"):
        restore_work_item(_object(last_name=None, object_etag=None), "a@b.edu")


def test_bad_params_are_all_named_at_once():
    with pytest.raises(RestorationListRejected) as rejected:
        parse_restoration_request("ann\r\n@test.edu", ["test.edu/a", 3, ""])
    lines = _lines(rejected)
    assert lines[0].startswith("(requester): ") and "not an email address" in lines[0]
    assert lines[1] == "item 2: 3 is not text"
    assert all("\r" not in line and "\n" not in line for line in lines)
    with pytest.raises(RestorationListRejected, match=r"\(list\): no identifiers given"):
        parse_restoration_request("ann@test.edu", [" ", ""])
    with pytest.raises(RestorationListRejected, match="is not a list"):
        parse_restoration_request("ann@test.edu", "test.edu/a")


# -- properties of the identifier list ------------------------------------------------------

_plain = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=60).filter(
    lambda text: text.strip()
)


@given(st.lists(_plain, min_size=1, max_size=40))
def test_a_list_of_plain_identifiers_is_kept_in_order_each_once_and_stripped(identifiers):
    parsed = parse_restoration_request("ann@test.edu", identifiers).identifiers
    expected = list(dict.fromkeys(identifier.strip() for identifier in identifiers))
    assert list(parsed) == expected


@given(
    st.lists(_plain, max_size=10),
    st.text(min_size=1, max_size=20).filter(lambda text: control_characters(text.strip())),
    st.integers(min_value=0, max_value=10),
)
def test_an_identifier_with_a_control_character_rejects_the_list_naming_its_position_escaped(good, bad, at):
    identifiers = [*good[:at], bad, *good[at:]]
    position = min(at, len(good)) + 1
    with pytest.raises(RestorationListRejected) as rejected:
        parse_restoration_request("ann@test.edu", identifiers)
    lines = _lines(rejected)
    assert any(line.startswith(f"item {position}: ") and "control characters" in line for line in lines)
    assert all(not control_characters(line) for line in lines)


@given(st.integers(min_value=MAX_IDENTIFIERS + 1, max_value=MAX_IDENTIFIERS + 50))
def test_a_list_longer_than_the_bound_is_refused_whole(length):
    with pytest.raises(RestorationListRejected, match=f"at most {MAX_IDENTIFIERS} per request"):
        parse_restoration_request("ann@test.edu", [f"test.edu/bag-{n}" for n in range(length)])


@given(st.text(min_size=MAX_IDENTIFIER_LENGTH + 1, max_size=MAX_IDENTIFIER_LENGTH + 20).filter(str.strip))
def test_an_identifier_longer_than_the_bound_is_named(long):
    with pytest.raises(RestorationListRejected, match="item 1: "):
        parse_restoration_request("ann@test.edu", [long])


def test_the_statements_take_values_only_through_named_placeholders():
    import re

    from include.aptrust import restore_request_sql

    statements = {n: v for n, v in vars(restore_request_sql).items() if n.isupper() and isinstance(v, str)}
    assert len(statements) >= 9
    for name, statement in statements.items():
        assert "%" not in re.sub(r"%\(\w+\)s", "", statement), f"{name}: a bare %"
        assert "{" not in statement and "}" not in statement, f"{name}: an unformatted template"
