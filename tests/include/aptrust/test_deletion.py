"""Deletion requests: params parsed, every failing item named with its reason, and the
four-eyes rule on registry users (not strings)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.aptrust.deletion import (
    DeletionListRejected,
    DeletionRequest,
    IdentityRefused,
    RegistryItem,
    RegistryUser,
    approving_users,
    check_deletion_list,
    parse_deletion_request,
    requested_identifiers,
    requesting_user,
)
from include.aptrust.inputs import control_characters
from include.aptrust.limits import MAX_IDENTIFIER_LENGTH, MAX_IDENTIFIERS

ANN = RegistryUser(1, "ann@test.edu", 10)
CAROL = RegistryUser(2, "carol@test.edu", 10)
OTHER = RegistryUser(3, "olga@other.edu", 20)
USERS = {user.email: user for user in (ANN, CAROL, OTHER)}
REQUEST = DeletionRequest("test.edu", "ann@test.edu", ("test.edu/a",))


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


def test_items_that_are_not_plain_text_are_named_by_position():
    with pytest.raises(DeletionListRejected) as rejected:
        requested_identifiers(["test.edu/a", 7, "test.edu/b\r\nBcc: x@evil.example", "x" * (MAX_IDENTIFIER_LENGTH + 1)])
    reasons = [str(problem) for problem in rejected.value.problems]
    assert reasons[0] == "item 2: 7 is not text"
    assert reasons[1].startswith("item 3: ") and "U+000A, U+000D" in reasons[1]
    assert reasons[2].startswith("item 4: ") and f"longer than {MAX_IDENTIFIER_LENGTH}" in reasons[2]
    assert all("\n" not in reason for reason in reasons)


def test_a_list_that_is_not_one_or_too_long_is_refused_whole():
    for value in ("test.edu/a\ntest.edu/b", None, {"a": 1}):
        with pytest.raises(DeletionListRejected, match="is not a list of identifiers"):
            requested_identifiers(value)
    with pytest.raises(DeletionListRejected, match=f"at most {MAX_IDENTIFIERS} per request"):
        requested_identifiers([f"test.edu/{n}" for n in range(MAX_IDENTIFIERS + 1)])


def test_the_params_are_checked_together_and_the_requester_normalised():
    assert parse_deletion_request(" test.edu ", "Ann@Test.EDU", ["test.edu/a"]) == DeletionRequest(
        "test.edu", "Ann@test.edu", ("test.edu/a",)
    )
    with pytest.raises(DeletionListRejected) as rejected:
        parse_deletion_request("test.edu\x00", "ann@test.edu\r\nBcc: x@evil.example", [])
    where = [problem.identifier for problem in rejected.value.problems]
    assert where == ["(institution)", "(requester)", "(list)"]


def _find(address_key):
    return [user for email, user in USERS.items() if email == address_key]


def _approval(responder, triggered_by=None, request=REQUEST):
    return approving_users(
        request=request, institution_id=10, responder=responder, triggered_by=triggered_by, find_users=_find
    )


def test_another_registry_user_may_approve():
    assert _approval({"id": "7", "name": "Carol@Test.edu"}) == (ANN, CAROL)
    assert _approval({"id": "carol@test.edu", "name": "carol"}) == (ANN, CAROL)  # the id, if that is the email


@pytest.mark.parametrize(
    ("responder", "triggered_by", "reason"),
    [
        ({"id": "1", "name": "ANN@test.EDU"}, None, "requested this deletion and cannot approve it"),
        ({"id": "alice", "name": "alice"}, None, "has no email address"),
        ({"id": "5", "name": "nobody@test.edu"}, None, "is not one active registry user"),
        ({"id": "7", "name": "carol@test.edu"}, "carol@test.edu", "triggered this request"),
        ({"id": "7", "name": "carol@test.edu"}, "Carol@TEST.edu", "triggered this request"),
        (None, None, "carries no approving user"),
    ],
)
def test_the_requester_the_trigger_and_unmapped_users_may_not_approve(responder, triggered_by, reason):
    with pytest.raises(IdentityRefused, match=reason):
        _approval(responder, triggered_by)


def test_the_requester_must_be_an_active_user_of_the_institution():
    assert requesting_user(REQUEST, 10, _find) == ANN
    for requester in ("olga@other.edu", "stranger@test.edu"):
        with pytest.raises(IdentityRefused, match="is not an active registry user of test.edu"):
            requesting_user(DeletionRequest("test.edu", requester, ("test.edu/a",)), 10, _find)


IDENTIFIER_LIKE = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(["test.edu", "/", "bag", " ", "\n", "\r", "\u2028", "\x00", "`", "é"]), max_size=8).map(
        "".join
    ),
    st.integers(),
    st.none(),
)


@given(st.one_of(st.lists(IDENTIFIER_LIKE, max_size=20), st.text(max_size=20), st.none(), st.integers()))
def test_any_list_gives_clean_identifiers_or_the_modules_own_error(value):
    try:
        identifiers = requested_identifiers(value)
    except DeletionListRejected as rejected:
        assert rejected.problems and "\n" not in "".join(str(problem) for problem in rejected.problems)
        return
    assert 1 <= len(identifiers) <= len(value)  # never more identifiers than items
    assert len(set(identifiers)) == len(identifiers)
    for identifier in identifiers:
        assert identifier == identifier.strip() and identifier in [item.strip() for item in value]
        assert control_characters(identifier) == [] and len(identifier) <= MAX_IDENTIFIER_LENGTH
