from datetime import datetime, timedelta, timezone

import pytest

from include.merritt.states import (
    BATCH_TRANSITIONS,
    JOB_TRANSITIONS,
    BatchState,
    JobState,
    TransitionError,
    batch_directory_for,
    move_batch,
    move_job,
    new_batch_status,
    new_job_status,
    released_batch_statuses,
    requeue_job_status,
    requeue_target,
)

AT = datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=-5)))
J, B = JobState, BatchState

ALLOWED_JOB_MOVES = {
    (J.PENDING, J.HELD),
    (J.PENDING, J.ESTIMATING),
    (J.PENDING, J.FAILED),
    (J.HELD, J.PENDING),
    (J.HELD, J.DELETED),
    (J.ESTIMATING, J.PROVISIONING),
    (J.ESTIMATING, J.FAILED),
    (J.PROVISIONING, J.DOWNLOADING),
    (J.PROVISIONING, J.FAILED),
    (J.DOWNLOADING, J.PROCESSING),
    (J.DOWNLOADING, J.FAILED),
    (J.PROCESSING, J.STORING),
    (J.PROCESSING, J.FAILED),
    (J.STORING, J.RECORDING),
    (J.STORING, J.FAILED),
    (J.RECORDING, J.NOTIFY),
    (J.RECORDING, J.FAILED),
    (J.NOTIFY, J.COMPLETED),
    (J.NOTIFY, J.FAILED),
    *{
        (J.FAILED, target)
        for target in (
            J.PENDING,
            J.ESTIMATING,
            J.PROVISIONING,
            J.DOWNLOADING,
            J.PROCESSING,
            J.STORING,
            J.RECORDING,
            J.NOTIFY,
            J.DELETED,
        )
    },
}
ALLOWED_BATCH_MOVES = {
    (B.PENDING, B.HELD),
    (B.PENDING, B.PROCESSING),
    (B.HELD, B.PENDING),
    (B.HELD, B.DELETED),
    (B.PROCESSING, B.REPORTING),
    (B.PROCESSING, B.FAILED),
    (B.REPORTING, B.COMPLETED),
    (B.REPORTING, B.FAILED),
    (B.FAILED, B.UPDATE_REPORTING),
    (B.FAILED, B.DELETED),
    (B.UPDATE_REPORTING, B.COMPLETED),
    (B.UPDATE_REPORTING, B.FAILED),
}


def _job(state: JobState, last=None, retries=0):
    return {**new_job_status(AT), "status": state.value, "last_successful_status": last, "retry_count": retries}


def test_the_job_machine_allows_exactly_the_spec_moves():
    allowed = {(source, target) for source, targets in JOB_TRANSITIONS.items() for target in targets}
    assert allowed == ALLOWED_JOB_MOVES


def test_the_batch_machine_allows_exactly_the_spec_moves():
    allowed = {(source, target) for source, targets in BATCH_TRANSITIONS.items() for target in targets}
    assert allowed == ALLOWED_BATCH_MOVES


@pytest.mark.parametrize("source", list(JobState))
@pytest.mark.parametrize("target", list(JobState))
def test_every_job_move_outside_the_machine_is_refused_naming_both_states(source, target):
    if (source, target) in ALLOWED_JOB_MOVES:
        assert move_job(_job(source), target, at=AT)["status"] == target.value
    else:
        with pytest.raises(TransitionError, match=f"from {source.value} to {target.value}"):
            move_job(_job(source), target, at=AT)


@pytest.mark.parametrize("source", list(BatchState))
@pytest.mark.parametrize("target", list(BatchState))
def test_every_batch_move_outside_the_machine_is_refused_naming_both_states(source, target):
    status = new_batch_status(source, AT)
    if (source, target) in ALLOWED_BATCH_MOVES:
        assert move_batch(status, target, at=AT)["status"] == target.value
    else:
        with pytest.raises(TransitionError, match=f"from {source.value} to {target.value}"):
            move_batch(status, target, at=AT)


def test_a_new_job_is_pending_with_no_success_and_no_retries():
    assert new_job_status(AT, "") == {
        "status": "Pending",
        "last_modified": "2026-11-23 10:30:00 -0500",
        "message": "",
        "last_successful_status": None,
        "retry_count": 0,
    }


def test_a_forward_move_records_the_old_state_as_last_success():
    moved = move_job(_job(J.DOWNLOADING, last="Provisioning"), J.PROCESSING, at=AT, message="ok")
    assert moved["last_successful_status"] == "Downloading"
    assert moved["message"] == "ok" and moved["retry_count"] == 0


def test_moves_into_and_out_of_failed_or_deleted_keep_last_success():
    failed = move_job(_job(J.DOWNLOADING, last="Estimating"), J.FAILED, at=AT, message="GET 404")
    assert failed["last_successful_status"] == "Estimating"
    requeued = move_job(failed, J.PROVISIONING, at=AT)
    assert requeued["last_successful_status"] == "Estimating"
    deleted = move_job(_job(J.HELD, last="Pending"), J.DELETED, at=AT)
    assert deleted["last_successful_status"] == "Pending"


def test_retry_count_grows_only_on_a_requeue():
    failed = _job(J.FAILED, last="Estimating", retries=2)
    requeued = requeue_job_status(failed, at=AT, message="again")
    assert (requeued["status"], requeued["retry_count"], requeued["last_successful_status"]) == (
        "Provisioning",
        3,
        "Estimating",
    )
    assert move_job(failed, J.PROVISIONING, at=AT)["retry_count"] == 2  # a plain move out of Failed
    assert move_job(failed, J.DELETED, at=AT)["retry_count"] == 2
    held = move_job(_job(J.PENDING, retries=1), J.HELD, at=AT)
    released = move_job(held, J.PENDING, at=AT)
    assert (held["last_successful_status"], released["last_successful_status"]) == ("Pending", "Held")
    assert released["retry_count"] == 1


def test_only_a_failed_job_is_requeued_and_a_retry_count_must_be_an_integer():
    with pytest.raises(TransitionError, match="job is Pending, not Failed"):
        requeue_job_status(_job(J.PENDING), at=AT)
    with pytest.raises(TransitionError, match="retry_count '2' is not an integer"):
        move_job({**_job(J.PENDING), "retry_count": "2"}, J.ESTIMATING, at=AT)


@pytest.mark.parametrize(
    ("last", "target"),
    [
        (None, J.ESTIMATING),
        ("", J.ESTIMATING),
        ("Pending", J.ESTIMATING),
        ("Estimating", J.PROVISIONING),
        ("Provisioning", J.DOWNLOADING),
        ("Downloading", J.PROCESSING),
        ("Processing", J.STORING),
        ("Storing", J.RECORDING),
        ("Recording", J.NOTIFY),
    ],
)
def test_requeue_resumes_after_the_last_success(last, target):
    assert requeue_target(last) is target


@pytest.mark.parametrize("last", ["Held", "Failed", "Notify", "Completed", "Bogus"])
def test_requeue_refuses_any_other_last_success_naming_it(last):
    """Merritt's admin tool leaves such a job as it is (``Failed`` is what its Java library writes)."""
    with pytest.raises(TransitionError, match=f"last_successful_status is '{last}' cannot be re-queued"):
        requeue_target(last)


def test_a_batch_left_held_is_released_through_pending_to_processing():
    held = new_batch_status(B.HELD, AT)
    pending, processing = released_batch_statuses(held, at=AT, message="collection p released")
    assert (pending["status"], processing["status"]) == ("Pending", "Processing")
    assert processing["message"] == "collection p released"


def test_an_unknown_status_value_is_named():
    with pytest.raises(TransitionError, match="'Sleeping' is not a job state"):
        move_job({"status": "Sleeping"}, J.FAILED, at=AT)


def test_each_job_state_is_listed_in_its_batch_folder():
    assert batch_directory_for(J.COMPLETED) == "batch-completed"
    assert batch_directory_for(J.FAILED) == "batch-failed"
    assert batch_directory_for(J.DELETED) == "batch-deleted"
    assert {batch_directory_for(state) for state in J if state not in (J.COMPLETED, J.FAILED, J.DELETED)} == {
        "batch-processing"
    }
    assert B.UPDATE_REPORTING.value == "UpdateReporting" and J.ESTIMATING.directory == "estimating"
