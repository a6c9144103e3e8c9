"""Removing a batch from the queue: its jobs with their queue entries, its nodes, its ``/batch-uuids`` node.

Used for Completed batches and unpublished claims (the admin DAG), and by staging to roll
back a batch ZooKeeper refused part way. Jobs go last-created first, each in one
transaction with its queue entry and its batch entry, so a removal stopped part way leaves
a batch listing exactly the jobs that still exist, the first ones of its plan: run again
it goes on, and a staging retry could finish the batch instead. The batch's own nodes
and its ``/batch-uuids`` node go last.
"""

from __future__ import annotations

from kazoo.exceptions import NotEmptyError

from include.merritt.layout import (
    BATCH_JOB_DIRECTORIES,
    batch_job_entry,
    batch_path,
    batch_states_folder,
    batch_uuid_path,
    decode_int,
    decode_json,
    decode_text,
    job_path,
    queue_entry,
)
from include.merritt.states import parse_job_state
from preservation_pipelines.merritt.queue.zookeeper import Operation, QueueError, QueueNodes, TransactionRefused


def remove_batch(nodes: QueueNodes, bid: str) -> None:
    """Delete the batch and everything of it; refused while its reporter lock is held."""
    if nodes.exists(batch_path(bid, "lock")) is not None:
        raise QueueError(f"{batch_path(bid, 'lock')} is held: batch {bid} is being reported")
    submission, _ = nodes.read_json(batch_path(bid, "submission"))
    listed = {
        jid: directory
        for directory in BATCH_JOB_DIRECTORIES
        for jid in nodes.children(batch_states_folder(bid, directory))
    }
    jids = sorted(listed, reverse=True)
    reads = nodes.get_many([job_path(jid, child) for jid in jids for child in ("status", "priority")])
    entries = {}
    for jid in jids:
        status, priority = reads[job_path(jid, "status")], reads[job_path(jid, "priority")]
        if status is not None and priority is not None:
            state = parse_job_state(
                decode_json(status[0], job_path(jid, "status")).get("status"), job_path(jid, "status")
            )
            entries[jid] = queue_entry(state.directory, decode_int(priority[0], job_path(jid, "priority")), jid)
    queued = nodes.exists_many(list(entries.values()))
    present = nodes.exists_many([job_path(jid) for jid in jids])
    trees = nodes.subtrees([job_path(jid) for jid in jids if present[job_path(jid)]])
    units: list[list[Operation]] = []
    for jid in jids:
        unit: list[Operation] = [("delete", entries[jid], None)] if queued.get(entries.get(jid)) else []
        unit += [("delete", path, None) for path in trees.get(job_path(jid), [])]
        unit.append(("delete", batch_job_entry(bid, listed[jid], jid), None))
        units.append(unit)
    nodes.commit_units(units, f"remove the jobs of {bid}")
    operations = [("delete", path, None) for path in nodes.subtrees([batch_path(bid)])[batch_path(bid)]]
    uuid_node = batch_uuid_path(submission.get("batchID", ""))
    if decode_text(nodes.get_or_none(uuid_node) or b"") == bid:
        operations.append(("delete", uuid_node, None))
    try:
        nodes.commit(operations, f"remove {bid}")
    except TransactionRefused as refused:
        if isinstance(refused.error, NotEmptyError):
            raise QueueError(f"{refused.path} changed while {bid} was being removed; run again") from None
        raise
