"""Removing a batch on the real ZooKeeper: everything of it goes, and a removal stopped part way stays consistent."""

from __future__ import annotations

import pytest

from preservation_pipelines.merritt.queue.removal import remove_batch
from preservation_pipelines.merritt.queue.zookeeper import QueueNodes
from tests.include.merritt.support import half_staged, stage, submission_conf, zk, zk_chroot  # noqa: F401 - fixtures


def test_an_unpublished_batch_is_removed_whole_and_nothing_else(zk):
    kept = stage(zk, submission_conf(2))
    conf = submission_conf(300)
    bid = half_staged(zk, conf)
    assert 0 < len(zk.get_children(f"/batches/{bid}/states/batch-processing")) < 300

    remove_batch(QueueNodes(zk), bid)

    assert zk.get_children("/batches") == [kept.bid]
    assert zk.get_children("/batch-uuids") == [kept.batch_id]
    assert sorted(zk.get_children("/jobs")) == [kept.first_jid, kept.last_jid, "states"]
    assert len(zk.get_children("/jobs/states/pending")) == 2


def test_a_removal_stopped_part_way_leaves_the_first_jobs_of_the_plan_and_a_retry_finishes_either_way(zk):
    conf = submission_conf(300)
    bid = half_staged(zk, conf)
    nodes = QueueNodes(zk, max_transaction_bytes=2_000)  # a few jobs per transaction
    original_commit, commits = nodes.commit, []

    def commit_twice_then_fail(operations, what):
        if len(commits) == 2:
            raise ConnectionError("lost")
        commits.append(what)
        original_commit(operations, what)

    nodes.commit = commit_twice_then_fail
    with pytest.raises(ConnectionError):
        remove_batch(nodes, bid)

    listed = sorted(zk.get_children(f"/batches/{bid}/states/batch-processing"))
    assert listed and all(zk.exists(f"/jobs/{jid}") for jid in listed)
    assert sorted(jid for jid in zk.get_children("/jobs") if jid != "states") == listed  # only listed jobs remain
    assert listed == [f"jid{n:010d}" for n in range(1, len(listed) + 1)]  # the plan's first rows

    result = stage(zk, conf)  # a staging retry finishes the batch from there
    assert (result.bid, result.jobs, result.state) == (bid, 300, "Processing")
    assert len(zk.get_children("/jobs/states/pending")) == 300
