"""Administration on the real ZooKeeper: deleting a batch all or nothing, removing old completed batches whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from include.merritt.states import JOB_PIPELINE, BatchState
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


def test_deleting_a_large_held_batch_is_all_or_nothing_and_takes_few_transactions(zk):
    zk.create(f"/locks/collections/{PROFILE}", makepath=True)
    held = stage(zk, submission_conf(300))
    zk.create(f"/jobs/{held.last_jid}/lock", ephemeral=True)  # a worker is on one job
    queue = QueueAdmin(QueueNodes(zk))

    with pytest.raises(QueueError, match=f"/jobs/{held.last_jid}/lock is held"):
        queue.delete_batch(held.bid)
    assert len(zk.get_children("/jobs/states/held")) == 300 and queue.nodes.transactions == 0
    assert read_json(zk, f"/batches/{held.bid}/status")["status"] == "Held"

    zk.delete(f"/jobs/{held.last_jid}/lock")
    changes = queue.delete_batch(held.bid)
    assert len(changes) == 3 * 300 + 1 and queue.nodes.transactions <= 3
    assert len(zk.get_children("/jobs/states/deleted")) == 300
    assert len(zk.get_children(f"/batches/{held.bid}/states/batch-deleted")) == 300
    assert read_json(zk, f"/batches/{held.bid}/status")["status"] == "Deleted"


def test_removing_an_old_completed_batch_deletes_every_node_it_wrote(zk):
    kept = stage(zk, submission_conf(1))
    old = stage(zk, submission_conf(300))
    queue = QueueAdmin(QueueNodes(zk), clock=lambda: AT)  # the batch completed on AT
    jids = queue.batches.batch_jids(old.bid)
    for target in JOB_PIPELINE[1:]:
        queue.jobs.move_jobs(jids, target)
    queue.batches.move_batch(old.bid, BatchState.REPORTING)
    queue.batches.move_batch(old.bid, BatchState.COMPLETED)

    later = QueueAdmin(QueueNodes(zk), clock=lambda: AT + timedelta(days=31))
    assert later.remove_completed_batches(timedelta(days=31)) == []  # not older than 31 days yet
    changes = later.remove_completed_batches(timedelta(days=30))

    assert [change.node for change in changes] == [f"/batches/{old.bid}"]
    assert later.nodes.transactions < 20
    assert zk.get_children("/batches") == [kept.bid]
    assert zk.get_children("/batch-uuids") == [kept.submission_uuid]
    assert sorted(zk.get_children("/jobs")) == [kept.first_jid, "states"]
    assert zk.get_children("/jobs/states/completed") == []
    assert zk.get_children("/jobs/states/pending") == [f"05-{kept.first_jid}"]


def test_an_orphaned_claim_is_removed_only_once_no_staging_has_written_to_it_for_a_while(zk):
    published = stage(zk, submission_conf(1))
    conf = submission_conf(300)
    bid = half_staged(zk, conf)
    queue = QueueAdmin(QueueNodes(zk))

    with pytest.raises(QueueError, match=f"{bid} was written by a staging at .*less than 0:30:00 ago"):
        queue.remove_unpublished_batch(bid, timedelta(minutes=30))
    with pytest.raises(QueueError, match=f"/batches/{published.bid}/status exists: .* is published"):
        queue.remove_unpublished_batch(published.bid, timedelta(0))
    with pytest.raises(QueueError, match="/batches/bid0000000099 does not exist"):
        queue.remove_unpublished_batch("bid0000000099", timedelta(0))
    assert zk.exists(f"/batches/{bid}") and queue.nodes.transactions == 0

    later = QueueAdmin(QueueNodes(zk), clock=lambda: datetime.now(UTC) + timedelta(minutes=31))
    assert [change.node for change in later.remove_unpublished_batch(bid, timedelta(minutes=30))] == [f"/batches/{bid}"]
    assert zk.get_children("/batches") == [published.bid]
    assert zk.get_children("/batch-uuids") == [published.submission_uuid]
    assert sorted(zk.get_children("/jobs")) == [published.first_jid, "states"]
    assert stage(zk, conf).jobs == 300  # the submission can be staged again, whole
