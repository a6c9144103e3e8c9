"""Restore digests and deletion confirmations as data: grouping, recipients, labels, ids."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from include.aptrust.inputs import control_characters
from include.aptrust.mail import (
    RestoredItem,
    deletion_confirmation,
    deletion_request,
    recipient_list,
    restore_digests,
    restore_location,
)

HOSTILE = ["ann@test.edu\r\nBcc: x@evil.example", "a@b.edu\n", "\u2028@x.edu", "Ann@Test.EDU", "", " "]


def _item(work_item_id, institution_id=1, requester="ann@test.edu", spot_test=False, note=None, **extra):
    return RestoredItem(
        work_item_id=work_item_id,
        institution_id=institution_id,
        institution=f"inst{institution_id}.edu",
        institution_name=f"Institution {institution_id}",
        requester=requester,
        action=extra.get("action", "Restore Object"),
        object_identifier=f"inst{institution_id}.edu/bag-{work_item_id}",
        file_identifier=extra.get("file_identifier"),
        note=note if note is not None else f"Bag restored to s3://restore/bag-{work_item_id}.tar",
        date_processed=datetime(2026, 11, 20, 9, 30),
        spot_test=spot_test,
    )


def test_restore_location_is_what_follows_restored_to():
    assert (
        restore_location("Bag restored to s3://aptrust.restore.test.edu/bag.tar.")
        == "s3://aptrust.restore.test.edu/bag.tar"
    )
    assert restore_location("Requested by ann") is None
    assert restore_location(None) is None


def test_one_digest_per_institution_grouped_by_requester_with_admins_copied():
    items = [
        _item(3),
        _item(1, requester="bob@test.edu"),
        _item(2, institution_id=2),
        _item(4, spot_test=True, requester="system@aptrust.org"),
    ]
    digests = restore_digests(items, {1: ["admin@inst1.edu"], 2: []})

    assert [d.institution_id for d in digests] == [1, 2]
    first = digests[0]
    assert first.work_item_ids == [1, 3, 4]
    assert first.recipients == ["admin@inst1.edu", "ann@test.edu", "bob@test.edu"]  # not the system account
    assert first.body.index("Requested by ann@test.edu") < first.body.index("Requested by bob@test.edu")
    assert "inst1.edu/bag-4 [spot test]" in first.body
    assert "fetch it from: s3://restore/bag-3.tar" in first.body
    assert "3 restorations" in first.subject
    assert digests[1].recipients == ["ann@test.edu"]  # institution with no admins: requesters only


def test_message_id_depends_on_the_items_reported_only():
    one = restore_digests([_item(1), _item(2)], {1: ["a@x.edu"]})[0]
    again = restore_digests([_item(2), _item(1)], {1: ["b@x.edu"]})[0]
    other = restore_digests([_item(1)], {})[0]
    assert one.message_id == again.message_id != other.message_id


def test_missing_location_is_said_not_hidden():
    digest = restore_digests([_item(1, note="restore finished")], {})[0]
    assert "location not recorded" in digest.body


def test_recipients_are_unique_case_insensitively():
    assert recipient_list(["Ann@Test.edu", "ann@test.edu", None, " ", "system@aptrust.org"]).addresses == [
        "Ann@test.edu"
    ]


def test_a_requester_or_admin_that_is_not_an_address_is_left_out_and_named():
    injected = "ann@test.edu\r\nBcc: everyone@evil.example"
    digest = restore_digests([_item(1, requester=injected), _item(2)], {1: ["admin@inst1.edu", "not an address"]})[0]
    assert digest.recipients == ["admin@inst1.edu", "ann@test.edu"]
    assert len(digest.invalid_recipients) == 2
    assert all("is not an email address" in reason and "\n" not in reason for reason in digest.invalid_recipients)


@given(st.lists(st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE), st.none()), max_size=6))
def test_whatever_the_registry_holds_every_header_of_a_digest_is_one_line(people):
    items = [_item(n, requester=person) for n, person in enumerate(people, 1)] or [_item(1)]
    digest = restore_digests(items, {1: people})[0]
    for header in (digest.subject, digest.message_id, *digest.recipients):
        assert control_characters(header) == []
    assert len(digest.recipients) + len(digest.invalid_recipients) <= len(people) * 2 + 1


def test_deletion_confirmation_lists_every_item_requester_and_approver():
    email = deletion_confirmation(
        institution_id=1,
        institution="test.edu",
        request_key="run-1",
        requester="ann@test.edu",
        approver="carol@test.edu",
        deletions=[("test.edu/a", 11), ("test.edu/b/data/f.txt", 12)],
        admins=["carol@test.edu"],
    )
    assert email.recipients == ["ann@test.edu", "carol@test.edu"]
    assert "test.edu/a (WorkItem 11)" in email.body and "test.edu/b/data/f.txt (WorkItem 12)" in email.body
    assert "Requested by: ann@test.edu" in email.body and "Approved by: carol@test.edu" in email.body
    assert email.work_item_ids == [11, 12]


def test_deletion_request_goes_to_the_admins_but_never_the_requester():
    email = deletion_request(
        institution_id=1,
        institution="test.edu",
        request_key="run-1",
        requester="Ann@test.edu",
        identifiers=["test.edu/a", "test.edu/b"],
        admins=["ann@test.edu", "carol@test.edu"],
        approval_link="http://airflow/dags/x/runs/r/tasks/approve/required_actions",
    )
    assert email.recipients == ["carol@test.edu"]
    assert "  - test.edu/a\n  - test.edu/b" in email.body and "required_actions" in email.body
    assert (
        "Required Actions"
        in deletion_request(
            institution_id=1,
            institution="test.edu",
            request_key="r",
            requester="a@test.edu",
            identifiers=["test.edu/a"],
            admins=[],
            approval_link=None,
        ).body
    )
