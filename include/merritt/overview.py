"""What the Pipelines view shows of Merritt's queue: counts per state, and the admin run that acts on a finding."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from include.merritt.states import TransitionError, requeue_target

BEING_STAGED = "(being staged)"  # a batch claimed by a staging whose status is not written yet
UNREADABLE = "(unreadable status)"


def batch_state_counts(statuses: Mapping[str, Any]) -> dict[str, int]:
    """``{state: batches}`` from ``Batches.batch_statuses`` (a status map, None, or the error its node gave)."""
    counts: Counter[str] = Counter()
    for status in statuses.values():
        if status is None:
            counts[BEING_STAGED] += 1
        elif isinstance(status, dict) and isinstance(status.get("status"), str):
            counts[status["status"]] += 1
        else:
            counts[UNREADABLE] += 1
    return dict(sorted(counts.items()))


def failed_job_actions(status: Mapping[str, Any]) -> list[str]:
    """The admin actions that apply to a Failed job: requeue only where Merritt's admin tool would, then delete."""
    try:
        requeue_target(status.get("last_successful_status"))
    except TransitionError:
        return ["delete_job"]
    return ["requeue_job", "delete_job"]


def admin_conf(action: str, target: str = "") -> dict[str, str]:
    """The ``merritt_queue_admin`` run conf (its params) for ``action`` on ``target``."""
    return {"action": action, "target": target} if target else {"action": action}
