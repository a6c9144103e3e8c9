"""Job moves on the real ZooKeeper: the state machine, every entry moved, a worker's lock respected."""

from __future__ import annotations

import pytest

from include.merritt.states import JobState, TransitionError
from preservation_pipelines.merritt.queue.moves import JobMoves
from preservation_pipelines.merritt.queue.zookeeper import QueueError, QueueNodes
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    QueueWorker,
    read_json,
    stage,
    submission_conf,
    zk,
    zk_chroot,
)


def test_job_moves_follow_the_state_machine_and_move_every_entry(zk):
    stage(zk, submission_conf(2))
    worker = QueueWorker(zk)
    failed = worker.run_one(fail_in="Downloading")
    queue = JobMoves(QueueNodes(zk))

    with pytest.raises(TransitionError, match="from Failed to Completed"):
        queue.move_job(failed, JobState.COMPLETED)
    changes = queue.requeue_job(failed)

    status = read_json(zk, f"/jobs/{failed}/status")
    assert (status["status"], status["retry_count"], status["last_successful_status"]) == (
        "Downloading",
        1,
        "Provisioning",
    )
    assert zk.get_children("/jobs/states/downloading") == [f"11-{failed}"]
    assert zk.get_children("/jobs/states/failed") == []
    assert failed in zk.get_children("/batches/bid0000000000/states/batch-processing")
    assert [change.node for change in changes] == [
        f"/jobs/{failed}/status",
        f"/jobs/states/downloading/11-{failed}",
        f"/batches/bid0000000000/states/batch-processing/{failed}",
    ]
    with pytest.raises(TransitionError, match="not Failed"):
        queue.requeue_job(failed)


def test_a_locked_job_is_not_moved_by_an_operator(zk):
    result = stage(zk, submission_conf(1))
    zk.create(f"/jobs/{result.first_jid}/lock", ephemeral=True)
    with pytest.raises(QueueError, match=f"/jobs/{result.first_jid}/lock is held"):
        JobMoves(QueueNodes(zk)).move_job(result.first_jid, JobState.FAILED, "stuck")
    assert read_json(zk, f"/jobs/{result.first_jid}/status")["status"] == "Pending"
