"""The DAGs' mails as registry alerts: digests grouped and labelled, recipients as registry user ids,
the deletion request, confirmation and cancellation."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from include.aptrust.alerts import Recipient
from include.aptrust.inputs import control_characters
from include.aptrust.mail import (
    DELETION_CANCELLED,
    DELETION_CONFIRMED,
    DELETION_REQUESTED,
    RESTORATION_COMPLETED,
    SPOT_TEST_COMPLETED_SUBJECT,
    RestoredItem,
    deletion_cancelled,
    deletion_confirmed,
    deletion_requested,
    recipient_ids,
    requester_key,
    restore_digests,
    restore_location,
)

HOSTILE = ["ann@test.edu\r\nBcc: x@evil.example", "a@b.edu\n", "\u2028@x.edu", "Ann@Test.EDU", "", " "]
ANN, BOB, ADMIN, SYSTEM = (
    Recipient(1, "ann@test.edu"),
    Recipient(2, "bob@test.edu"),
    Recipient(3, "admin@inst1.edu"),
    Recipient(4, "system@aptrust.org"),
)


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


REQUESTERS = {"ann@test.edu": ANN, "bob@test.edu": BOB, "system@aptrust.org": SYSTEM}


def test_restore_location_is_what_follows_restored_to():
    assert (
        restore_location("Bag restored to s3://aptrust.restore.test.edu/bag.tar.")
        == "s3://aptrust.restore.test.edu/bag.tar"
    )
    assert restore_location("Requested by ann") is None
    assert restore_location(None) is None


def test_one_alert_per_institution_grouped_by_requester_with_admins_linking_every_item():
    items = [
        _item(3),
        _item(1, requester="Bob@Test.edu"),
        _item(2, institution_id=2),
        _item(4, spot_test=True, requester="system@aptrust.org"),
    ]
    plan = restore_digests(items, {1: [ADMIN], 2: []}, REQUESTERS)

    first, second = plan.alerts
    assert (first.institution_id, first.type, first.subject) == (1, RESTORATION_COMPLETED, RESTORATION_COMPLETED)
    assert first.linked_ids == (1, 3, 4)
    assert first.user_ids == (ANN.user_id, BOB.user_id, ADMIN.user_id)  # not the system account
    assert first.content.index("Requested by Bob@Test.edu") < first.content.index("Requested by ann@test.edu")
    assert "inst1.edu/bag-4 [spot test]" in first.content
    assert "fetch it from: s3://restore/bag-3.tar" in first.content
    assert "3 restorations" in first.content
    assert second.user_ids == (ANN.user_id,)  # an institution with no admins: requesters only
    assert plan.requesters_without_user == []


def test_only_spot_tests_say_so_in_the_subject():
    [alert] = restore_digests([_item(1, spot_test=True, requester="system@aptrust.org")], {1: [ADMIN]}, {}).alerts
    assert alert.subject == SPOT_TEST_COMPLETED_SUBJECT and alert.type == RESTORATION_COMPLETED


def test_a_requester_with_no_registry_user_is_no_recipient_and_is_named_escaped():
    injected = "ann@test.edu\r\nBcc: everyone@evil.example"
    plan = restore_digests([_item(1, requester=injected), _item(2, requester="carl@test.edu")], {1: [ADMIN]}, {})
    assert plan.alerts[0].user_ids == (ADMIN.user_id,)
    assert plan.requesters_without_user == [f"{injected!r} (WorkItem 1)", "'carl@test.edu' (WorkItem 2)"]


def test_missing_location_is_said_not_hidden():
    plan = restore_digests([_item(1, note="restore finished")], {}, REQUESTERS)
    assert "location not recorded" in plan.alerts[0].content


def test_recipients_are_unique_and_never_the_system_account():
    assert recipient_ids([ANN, ANN, None, SYSTEM, ADMIN], excluding=[ADMIN.user_id]) == (ANN.user_id,)
    assert requester_key("  Ann@Test.EDU ") == "ann@test.edu" and requester_key(" ") is None


@given(st.lists(st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE), st.none()), max_size=6))
def test_whatever_the_registry_holds_the_subject_is_one_line_and_each_unknown_requester_named_once(people):
    items = [_item(n, requester=person) for n, person in enumerate(people, 1)] or [_item(1)]
    plan = restore_digests(items, {1: [ADMIN]}, REQUESTERS)
    [alert] = plan.alerts
    assert control_characters(alert.subject) == []
    assert all(control_characters(name) == [] for name in plan.requesters_without_user)
    assert len(plan.requesters_without_user) <= len(items)


def test_deletion_confirmed_lists_every_item_links_the_work_items_to_requester_and_admins():
    alert = deletion_confirmed(
        institution_id=1,
        institution="test.edu",
        requester=ANN,
        approver=ADMIN,
        deletions=[("test.edu/a", 11), ("test.edu/b/data/f.txt", 12)],
        admins=[ADMIN],
    )
    assert (alert.type, alert.subject) == (DELETION_CONFIRMED, DELETION_CONFIRMED)
    assert alert.user_ids == (ANN.user_id, ADMIN.user_id)
    assert "test.edu/a (WorkItem 11)" in alert.content and "test.edu/b/data/f.txt (WorkItem 12)" in alert.content
    assert "Requested by: ann@test.edu" in alert.content and "Approved by: admin@inst1.edu" in alert.content
    assert alert.linked_ids == (11, 12)


def test_deletion_requested_goes_to_the_admins_but_never_the_requester_and_says_who_may_approve():
    requester_as_admin = Recipient(ANN.user_id, "Ann@test.edu")
    alert = deletion_requested(
        institution_id=1,
        institution="test.edu",
        requester=ANN,
        identifiers=["test.edu/a", "test.edu/b"],
        admins=[requester_as_admin, ADMIN],
        approval_link="http://airflow/dags/x/runs/r/tasks/approve/required_actions",
    )
    assert (alert.type, alert.user_ids, alert.linked_ids) == (DELETION_REQUESTED, (ADMIN.user_id,), ())
    assert "  - test.edu/a\n  - test.edu/b" in alert.content and "required_actions" in alert.content
    assert "Only an active registry user of test.edu other than the requester may approve" in alert.content
    no_link = deletion_requested(
        institution_id=1, institution="test.edu", requester=ANN, identifiers=["a"], admins=[], approval_link=None
    )
    assert "Required Actions" in no_link.content and no_link.user_ids == ()


def test_deletion_cancelled_says_who_rejected_or_that_it_timed_out():
    rejected = deletion_cancelled(
        institution_id=1, institution="test.edu", requester=ANN, identifiers=["test.edu/a"], cancelled_by="c@x.edu",
        admins=[ADMIN],
    )  # fmt: skip
    timed_out = deletion_cancelled(
        institution_id=1, institution="test.edu", requester=ANN, identifiers=["test.edu/a"], cancelled_by=None,
        admins=[],
    )  # fmt: skip
    assert rejected.type == DELETION_CANCELLED and rejected.user_ids == (ANN.user_id, ADMIN.user_id)
    assert "was rejected by c@x.edu" in rejected.content and "Nothing is deleted." in rejected.content
    assert "was not approved in time" in timed_out.content and timed_out.user_ids == (ANN.user_id,)
