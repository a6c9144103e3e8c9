"""Administration on the real ZooKeeper: deleting a batch all or nothing, removing old completed batches whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from include.merritt.states import JOB_PIPELINE, BatchState, JobState, TransitionError
from preservation_pipelines.merritt.queue.admin import QueueAdmin
from preservation_pipelines.merritt.queue.zookeeper import QueueError, QueueNodes
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    PROFILE,
    half_staged,
    read_json,
    stage,
    submission_conf,
    zk,
    zk_chroot,
)

AT = datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=-5)))


def _failed_batch(zk, jobs: int):
    """A batch whose every job failed, reported Failed."""
    batch = stage(zk, submission_conf(jobs))
    queue = QueueAdmin(QueueNodes(zk))
    queue.jobs.move_jobs(queue.batches.batch_jids(batch.bid), JobState.FAILED, "GET 404")
    queue.batches.move_batch(batch.bid, BatchState.REPORTING)
    queue.batches.move_batch(batch.bid, BatchState.FAILED, "Batch failure")
    return batch


def test_deleting_a_large_failed_batch_is_all_or_nothing_and_removes_it_once_its_jobs_are_deleted(zk):
    failed = _failed_batch(zk, 300)
    kept = stage(zk, submission_conf(1))
    zk.create(f"/jobs/{failed.last_jid}/lock", ephemeral=True)  # a worker is on one job
    queue = QueueAdmin(QueueNodes(zk))

    with pytest.raises(QueueError, match=f"/jobs/{failed.last_jid}/lock is held"):
        queue.delete_batch(failed.bid)
    assert len(zk.get_children("/jobs/states/failed")) == 300 and queue.nodes.transactions == 0
    assert read_json(zk, f"/batches/{failed.bid}/status")["status"] == "Failed"

    zk.delete(f"/jobs/{failed.last_jid}/lock")
    changes = queue.delete_batch(failed.bid)
    # per job: status, queue entry, batch entry; the batch's status; then the batch removed with its jobs
    assert len(changes) == 3 * 300 + 2 and changes[-1].node == f"/batches/{failed.bid}"
    assert queue.nodes.transactions <= 25
    assert zk.get_children("/batches") == [kept.bid]
    assert zk.get_children("/batch-uuids") == [kept.batch_id]
    assert sorted(zk.get_children("/jobs")) == [kept.first_jid, "states"]
    assert zk.get_children("/jobs/states/deleted") == []


def test_a_processing_batch_is_not_deleted_naming_both_states(zk):
    batch = stage(zk, submission_conf(2))
    with pytest.raises(TransitionError, match="batch cannot move from Processing to Deleted"):
        QueueAdmin(QueueNodes(zk)).delete_batch(batch.bid)


def test_releasing_a_collection_unlocks_then_moves_its_held_jobs_to_pending_skipping_locked_ones(zk):
    zk.create(f"/locks/collections/{PROFILE}", makepath=True)
    held = stage(zk, submission_conf(3))
    other = stage(zk, submission_conf(1, profile="other_profile"))  # held by hand below: not this collection
    QueueAdmin(QueueNodes(zk)).jobs.move_job(other.first_jid, JobState.HELD)
    zk.create(f"/jobs/{held.last_jid}/lock", ephemeral=True)
    batch_before = zk.get(f"/batches/{held.bid}/status")

    changes = QueueAdmin(QueueNodes(zk)).release_collection(PROFILE)

    assert changes[0].node == f"/locks/collections/{PROFILE}" and zk.exists(f"/locks/collections/{PROFILE}") is None
    assert sorted(zk.get_children("/jobs/states/pending")) == [f"15-{jid}" for jid in (held.first_jid, "jid0000000002")]
    assert sorted(zk.get_children("/jobs/states/held")) == [f"05-{other.first_jid}", f"15-{held.last_jid}"]
    status = read_json(zk, f"/jobs/{held.first_jid}/status")
    assert (status["status"], status["last_successful_status"], status["retry_count"]) == ("Pending", "Held", 0)
    assert zk.get(f"/batches/{held.bid}/status") == batch_before  # batch statuses are untouched


def test_a_batch_left_held_by_the_earlier_version_is_migrated_to_processing_in_one_transaction(zk):
    batch = stage(zk, submission_conf(1))
    zk.set(
        f"/batches/{batch.bid}/status", b'{"status":"Held","last_modified":"2026-01-02 03:04:05 -0500","message":""}'
    )
    queue = QueueAdmin(QueueNodes(zk), clock=lambda: AT)

    changes = queue.release_collection(PROFILE)

    assert [(change.node, change.before, change.after) for change in changes] == [
        (f"/batches/{batch.bid}/status", "Held", "Processing")
    ]
    assert queue.nodes.transactions == 1  # Held → Pending → Processing; no job to move
    status, stat = zk.get(f"/batches/{batch.bid}/status")
    assert json.loads(status)["status"] == "Processing" and stat.version == 3  # two writes, one transaction


def test_removing_an_old_completed_batch_deletes_every_node_it_wrote(zk):
    kept = stage(zk, submission_conf(1))
    old = stage(zk, submission_conf(300))
    queue = QueueAdmin(QueueNodes(zk), clock=lambda: AT)  # the batch completed on AT
    jids = queue.batches.batch_jids(old.bid)
    for target in JOB_PIPELINE[1:]:
        queue.jobs.move_jobs(jids, target)
    queue.batches.move_batch(old.bid, BatchState.REPORTING)
    queue.batches.move_batch(old.bid, BatchState.COMPLETED)
    unfinished = stage(zk, submission_conf(1))  # Completed by mistake while its job is still Pending: kept
    queue.batches.move_batch(unfinished.bid, BatchState.REPORTING)
    queue.batches.move_batch(unfinished.bid, BatchState.COMPLETED)

    later = QueueAdmin(QueueNodes(zk), clock=lambda: AT + timedelta(days=31))
    assert later.remove_completed_batches(timedelta(days=31)) == []  # not older than 31 days yet
    changes = later.remove_completed_batches(timedelta(days=30))

    assert [(change.node, change.before) for change in changes] == [(f"/batches/{old.bid}", "Completed")]
    assert later.kept == [f"{unfinished.bid}: its states/batch-processing does not exist or lists jobs"]
    zk.delete(f"/batches/{unfinished.bid}/status")  # out of the way of the counts below
    zk.create(f"/batches/{unfinished.bid}/status", b'{"status":"Pending","last_modified":"","message":""}')
    assert later.nodes.transactions < 20
    assert zk.get_children("/batches") == sorted([kept.bid, unfinished.bid])
    assert sorted(zk.get_children("/batch-uuids")) == sorted([kept.batch_id, unfinished.batch_id])
    assert sorted(zk.get_children("/jobs")) == [kept.first_jid, unfinished.first_jid, "states"]
    assert zk.get_children("/jobs/states/completed") == []
    assert sorted(zk.get_children("/jobs/states/pending")) == [f"05-{kept.first_jid}", f"05-{unfinished.first_jid}"]


def test_an_orphaned_claim_is_removed_only_once_no_staging_has_written_to_it_for_a_while(zk):
    published = stage(zk, submission_conf(1))
    conf = submission_conf(300)
    bid = half_staged(zk, conf)
    queue = QueueAdmin(QueueNodes(zk))

    with pytest.raises(QueueError, match=f"{bid} was written by a staging at .*less than 0:30:00 ago"):
        queue.remove_unpublished_batch(bid, timedelta(minutes=30))
    with pytest.raises(QueueError, match=f"{published.bid} is published: job {published.first_jid} is queued"):
        queue.remove_unpublished_batch(published.bid, timedelta(0))
    with pytest.raises(QueueError, match="/batches/bid0000000099 does not exist"):
        queue.remove_unpublished_batch("bid0000000099", timedelta(0))
    assert zk.exists(f"/batches/{bid}") and queue.nodes.transactions == 0

    later = QueueAdmin(QueueNodes(zk), clock=lambda: datetime.now(UTC) + timedelta(minutes=31))
    assert [change.node for change in later.remove_unpublished_batch(bid, timedelta(minutes=30))] == [f"/batches/{bid}"]
    assert zk.get_children("/batches") == [published.bid]
    assert zk.get_children("/batch-uuids") == [published.batch_id]
    assert sorted(zk.get_children("/jobs")) == [published.first_jid, "states"]
    assert stage(zk, conf).jobs == 300  # the submission can be staged again, whole
