"""The job and batch state machines of Merritt's ingest queue.

A status is the JSON map stored in ``/jobs/<jid>/status`` or ``/batches/<bid>/status``.
``move_job``/``move_batch`` return the status after a move, or raise
``TransitionError`` naming both states when the machine does not allow it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from include.merritt.layout import format_timestamp


class TransitionError(ValueError):
    """A move the state machine does not allow."""


class JobState(StrEnum):
    PENDING = "Pending"
    HELD = "Held"
    ESTIMATING = "Estimating"
    PROVISIONING = "Provisioning"
    DOWNLOADING = "Downloading"
    PROCESSING = "Processing"
    STORING = "Storing"
    RECORDING = "Recording"
    NOTIFY = "Notify"
    COMPLETED = "Completed"
    FAILED = "Failed"
    DELETED = "Deleted"

    @property
    def directory(self) -> str:
        """The lower-case name of the state's folder under ``/jobs/states/``."""
        return self.value.lower()


class BatchState(StrEnum):
    PENDING = "Pending"
    HELD = "Held"
    PROCESSING = "Processing"
    REPORTING = "Reporting"
    COMPLETED = "Completed"
    FAILED = "Failed"
    UPDATE_REPORTING = "UpdateReporting"
    DELETED = "Deleted"


# The forward path of a job; a requeued job resumes at the state after its last success.
JOB_PIPELINE = (
    JobState.PENDING,
    JobState.ESTIMATING,
    JobState.PROVISIONING,
    JobState.DOWNLOADING,
    JobState.PROCESSING,
    JobState.STORING,
    JobState.RECORDING,
    JobState.NOTIFY,
    JobState.COMPLETED,
)

JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.PENDING: frozenset({JobState.HELD, JobState.ESTIMATING, JobState.FAILED}),
    JobState.HELD: frozenset({JobState.PENDING, JobState.DELETED}),
    JobState.ESTIMATING: frozenset({JobState.PROVISIONING, JobState.FAILED}),
    JobState.PROVISIONING: frozenset({JobState.DOWNLOADING, JobState.FAILED}),
    JobState.DOWNLOADING: frozenset({JobState.PROCESSING, JobState.FAILED}),
    JobState.PROCESSING: frozenset({JobState.STORING, JobState.FAILED}),
    JobState.STORING: frozenset({JobState.RECORDING, JobState.FAILED}),
    JobState.RECORDING: frozenset({JobState.NOTIFY, JobState.FAILED}),
    JobState.NOTIFY: frozenset({JobState.COMPLETED, JobState.FAILED}),
    JobState.FAILED: frozenset(JOB_PIPELINE[:-1]) | {JobState.DELETED},
    JobState.COMPLETED: frozenset(),
    JobState.DELETED: frozenset(),
}

BATCH_TRANSITIONS: dict[BatchState, frozenset[BatchState]] = {
    BatchState.PENDING: frozenset({BatchState.HELD, BatchState.PROCESSING}),
    BatchState.HELD: frozenset({BatchState.PENDING, BatchState.DELETED}),
    BatchState.PROCESSING: frozenset({BatchState.REPORTING, BatchState.FAILED}),
    BatchState.REPORTING: frozenset({BatchState.COMPLETED, BatchState.FAILED}),
    BatchState.FAILED: frozenset({BatchState.UPDATE_REPORTING, BatchState.DELETED}),
    BatchState.UPDATE_REPORTING: frozenset({BatchState.COMPLETED, BatchState.FAILED}),
    BatchState.COMPLETED: frozenset(),
    BatchState.DELETED: frozenset(),
}

_OUTSIDE_SUCCESS = (JobState.FAILED, JobState.DELETED)
REQUEUE_AFTER = JOB_PIPELINE[:-2]  # Pending ... Recording: the last successes a failed job resumes after


def parse_job_state(value: Any, where: str = "job status") -> JobState:
    try:
        return JobState(value)
    except ValueError:
        raise TransitionError(f"{where}: {value!r} is not a job state") from None


def parse_batch_state(value: Any, where: str = "batch status") -> BatchState:
    try:
        return BatchState(value)
    except ValueError:
        raise TransitionError(f"{where}: {value!r} is not a batch state") from None


def check_job_move(current: JobState, target: JobState) -> None:
    if target not in JOB_TRANSITIONS[current]:
        raise TransitionError(f"job cannot move from {current} to {target}")


def check_batch_move(current: BatchState, target: BatchState) -> None:
    if target not in BATCH_TRANSITIONS[current]:
        raise TransitionError(f"batch cannot move from {current} to {target}")


def new_job_status(at: datetime, message: str = "") -> dict[str, Any]:
    return {
        "status": JobState.PENDING.value,
        "last_modified": format_timestamp(at),
        "message": message,
        "last_successful_status": None,
        "retry_count": 0,
    }


def staged_job_status(at: datetime, *, held_for: str | None = None) -> dict[str, Any]:
    """A new job's status: Pending, or Held (from Pending) when its collection ``held_for`` is held."""
    status = new_job_status(at)
    if held_for is None:
        return status
    return move_job(status, JobState.HELD, at=at, message=f"collection {held_for} is held")


def new_batch_status(state: BatchState, at: datetime, message: str = "") -> dict[str, Any]:
    return {"status": state.value, "last_modified": format_timestamp(at), "message": message}


def move_job(status: dict[str, Any], target: JobState, *, at: datetime, message: str = "") -> dict[str, Any]:
    """The job status after moving to ``target``.

    ``last_successful_status`` becomes the old state, except on a move to Failed or
    Deleted and on a move out of Failed, which keep it (Merritt's Ruby library, used
    by its admin tool). ``retry_count`` is kept: only :func:`requeue_job_status` adds one.
    """
    current = parse_job_state(status.get("status"))
    check_job_move(current, target)
    moved = {
        **status,
        "status": target.value,
        "last_modified": format_timestamp(at),
        "message": message,
        "last_successful_status": status.get("last_successful_status"),
        "retry_count": retry_count_of(status),
    }
    if current not in _OUTSIDE_SUCCESS and target not in _OUTSIDE_SUCCESS:
        moved["last_successful_status"] = current.value
    return moved


def requeue_job_status(status: dict[str, Any], *, at: datetime, message: str = "") -> dict[str, Any]:
    """A Failed job re-queued as Merritt's admin tool does: to the state after its ``last_successful_status``,
    that value unchanged, ``retry_count`` + 1."""
    current = parse_job_state(status.get("status"))
    if current is not JobState.FAILED:
        raise TransitionError(f"job is {current}, not Failed: only failed jobs are re-queued")
    moved = move_job(status, requeue_target(status.get("last_successful_status")), at=at, message=message)
    moved["retry_count"] += 1
    return moved


def retry_count_of(status: dict[str, Any]) -> int:
    """The status's ``retry_count`` (a JSON integer; 0 when absent, as Merritt's libraries read it)."""
    count = status.get("retry_count", 0)
    if isinstance(count, bool) or not isinstance(count, int):
        raise TransitionError(f"retry_count {count!r} is not an integer")
    return count


def move_batch(status: dict[str, Any], target: BatchState, *, at: datetime, message: str = "") -> dict[str, Any]:
    current = parse_batch_state(status.get("status"))
    check_batch_move(current, target)
    return {**status, "status": target.value, "last_modified": format_timestamp(at), "message": message}


def released_batch_statuses(status: dict[str, Any], *, at: datetime, message: str) -> list[dict[str, Any]]:
    """A batch left Held by an earlier version of this project, released: Held → Pending → Processing
    (both statuses, written in order in one transaction)."""
    pending = move_batch(status, BatchState.PENDING, at=at, message=message)
    return [pending, move_batch(pending, BatchState.PROCESSING, at=at, message=message)]


def requeue_target(last_successful_status: str | None) -> JobState:
    """Where a failed job resumes: the state after its last success (none, empty or Pending: Estimating).

    Merritt's admin tool re-queues only those; any other value (``Held``, ``Notify``, or
    ``Failed`` as Merritt's Java library writes it) is refused, naming it.
    """
    if last_successful_status in (None, ""):
        return JobState.ESTIMATING
    if last_successful_status not in {state.value for state in REQUEUE_AFTER}:
        raise TransitionError(
            f"a job whose last_successful_status is {last_successful_status!r} cannot be re-queued "
            f"(only none or one of {', '.join(REQUEUE_AFTER)})"
        )
    last = JobState(last_successful_status)
    return JOB_PIPELINE[JOB_PIPELINE.index(last) + 1]


def batch_directory_for(state: JobState) -> str:
    """The folder under ``/batches/<bid>/states/`` where a job in ``state`` is listed."""
    if state is JobState.COMPLETED:
        return "batch-completed"
    if state is JobState.FAILED:
        return "batch-failed"
    if state is JobState.DELETED:
        return "batch-deleted"
    return "batch-processing"
