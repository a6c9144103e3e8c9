"""Administration of the queue: collection holds, the ingest freeze, deleting and removing batches.

Job moves come from :mod:`.moves` and batch moves from :mod:`.batches`; what is here
reads first, refuses before writing anything, and reports each changed node.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from include.common.eastern_time import eastern_now
from include.merritt.layout import (
    INGEST_QUEUE_LOCK,
    batch_path,
    collection_lock,
    decode_int,
    decode_json,
    encode_json,
    format_timestamp,
    jid_of_queue_entry,
    job_path,
    job_state_folder,
    parse_timestamp,
    queue_entry,
)
from include.merritt.states import (
    BatchState,
    JobState,
    check_batch_move,
    parse_batch_state,
    parse_job_state,
    released_batch_statuses,
)
from preservation_pipelines.merritt.queue.batches import Batches
from preservation_pipelines.merritt.queue.moves import JobMoves
from preservation_pipelines.merritt.queue.removal import remove_batch
from preservation_pipelines.merritt.queue.zookeeper import Change, QueueError, QueueNodes


class QueueAdmin:
    """The actions of the admin DAG; ``jobs`` and ``batches`` carry the plain moves."""

    def __init__(self, nodes: QueueNodes, *, clock: Callable[[], datetime] = eastern_now) -> None:
        self.nodes = nodes
        self.clock = clock
        self.batches = Batches(nodes, clock=clock)
        self.jobs = JobMoves(nodes, clock=clock)
        self.kept: list[str] = []  # batches an action left in place, each with the reason

    def hold_collection(self, profile: str) -> list[Change]:
        return self._create_marker(collection_lock(profile))

    def freeze_queue(self) -> list[Change]:
        return self._create_marker(INGEST_QUEUE_LOCK)

    def thaw_queue(self) -> list[Change]:
        return self._delete_marker(INGEST_QUEUE_LOCK)

    def _create_marker(self, path: str) -> list[Change]:
        return [Change(path, None, path)] if self.nodes.create(path, makepath=True) else []

    def _delete_marker(self, path: str) -> list[Change]:
        return [Change(path, path, None)] if self.nodes.delete(path) else []

    def release_collection(self, profile: str) -> list[Change]:
        """Merritt's procedure: delete the hold, then move every Held job whose ``configuration.profile`` is the
        collection to Pending, skipping jobs a worker has locked. A batch left Held by an earlier version of
        this project moves Held → Pending → Processing in one transaction; no other batch status changes."""
        changes = self._delete_marker(collection_lock(profile))
        for bid, status in self.batches.batch_statuses(self.batches.batch_ids()).items():
            if isinstance(status, dict) and status.get("status") == BatchState.HELD.value:
                submission, _ = self.nodes.read_json(batch_path(bid, "submission"))
                if submission.get("profile") == profile:
                    changes.append(self._migrate_held_batch(bid, profile))
        held_jids = sorted(
            jid_of_queue_entry(name) for name in self.nodes.children(job_state_folder(JobState.HELD.directory))
        )
        configurations = self.nodes.get_many([job_path(jid, "configuration") for jid in held_jids])
        released = []
        for jid in held_jids:
            found = configurations[job_path(jid, "configuration")]
            if found and decode_json(found[0], job_path(jid, "configuration")).get("profile") == profile:
                released.append(jid)
        return changes + self.jobs.move_jobs(
            released, JobState.PENDING, f"collection {profile} released", skip_locked=True
        )

    def _migrate_held_batch(self, bid: str, profile: str) -> Change:
        status, version = self.batches.batch_status(bid)
        pending, processing = released_batch_statuses(status, at=self.clock(), message=f"collection {profile} released")
        path = batch_path(bid, "status")
        self.nodes.commit(
            [("set", path, (encode_json(pending), version)), ("set", path, (encode_json(processing), version + 1))],
            f"release {bid}",
        )
        return Change(path, BatchState.HELD.value, BatchState.PROCESSING.value)

    def delete_batch(self, bid: str) -> list[Change]:
        """A batch → Deleted (from Held or Failed, as the machine allows) with its Held and Failed jobs; refused if
        any job is still running. Once every job is Completed or Deleted the batch is removed in the same run:
        a Deleted batch with an empty ``batch-processing`` makes Merritt's reporter fail until it is gone."""
        status, _ = self.batches.batch_status(bid)
        current = parse_batch_state(status.get("status"), batch_path(bid, "status"))
        check_batch_move(current, BatchState.DELETED)
        jids = self.batches.batch_jids(bid)
        states = self._job_states(bid, jids)
        to_delete = [jid for jid in jids if states[jid] in (JobState.HELD, JobState.FAILED)]
        for jid in jids:
            if states[jid] not in (JobState.HELD, JobState.FAILED, JobState.COMPLETED, JobState.DELETED):
                raise QueueError(f"batch {bid} not deleted: job {jid} is {states[jid]}, which cannot move to Deleted")
        changes = self.jobs.move_jobs(to_delete, JobState.DELETED, f"batch {bid} deleted by an operator")
        changes.append(self.batches.move_batch(bid, BatchState.DELETED, "deleted by an operator", expected=current))
        if self.batches.all_jobs_finished(bid) or not jids:
            remove_batch(self.nodes, bid)
            changes.append(Change(batch_path(bid), BatchState.DELETED.value, None))
        return changes

    def remove_completed_batches(self, older_than: timedelta) -> list[Change]:
        """Remove Completed or Deleted batches last modified before ``older_than`` ago whose ``batch-processing``
        exists and is empty, as Merritt's cleanup does: each job (only Completed or Deleted ones; otherwise the
        batch is kept and the reason is in ``self.kept``), its queue entry, the ``/batch-uuids`` node, the batch."""
        cutoff = self.clock() - older_than
        changes = []
        removable = (BatchState.COMPLETED.value, BatchState.DELETED.value)
        for bid, status in self.batches.batch_statuses(self.batches.batch_ids()).items():
            if not isinstance(status, dict) or status.get("status") not in removable:
                continue
            if parse_timestamp(status.get("last_modified", ""), batch_path(bid, "status")) >= cutoff:
                continue
            if not self.batches.all_jobs_finished(bid):
                self.kept.append(f"{bid}: its states/batch-processing does not exist or lists jobs")
                continue
            states = self._job_states(bid, self.batches.batch_jids(bid))
            unfinished = sorted(
                jid for jid, state in states.items() if state not in (JobState.COMPLETED, JobState.DELETED)
            )
            if unfinished:
                self.kept.append(f"{bid}: job {unfinished[0]} is {states[unfinished[0]]}, not Completed or Deleted")
                continue
            remove_batch(self.nodes, bid)
            changes.append(Change(batch_path(bid), status["status"], None))
        return changes

    def remove_unpublished_batch(self, bid: str, quiet_for: timedelta) -> list[Change]:
        """Remove a batch a staging began but never queued a job of, that no staging has written to for ``quiet_for``.

        Unpublished: no job of it has a ``/jobs/states`` entry or has left its initial state
        (Pending or Held), so no worker has seen it and no reporter can take it (its
        ``batch-processing`` lists every job created). Removing it loses nothing; the wait
        keeps a staging that is still running from losing its batch.
        """
        if self.nodes.exists(batch_path(bid)) is None:
            raise QueueError(f"{batch_path(bid)} does not exist")
        jids = self.batches.batch_jids(bid)
        states = self._job_states(bid, jids)
        priorities = self.nodes.get_many([job_path(jid, "priority") for jid in jids])
        entries = {
            jid: queue_entry(
                states[jid].directory,
                decode_int(priorities[job_path(jid, "priority")][0], job_path(jid, "priority")),
                jid,
            )
            for jid in jids
            if priorities[job_path(jid, "priority")] is not None
        }
        queued = self.nodes.exists_many(list(entries.values()))
        published = [
            jid for jid in jids if states[jid] not in (JobState.PENDING, JobState.HELD) or queued.get(entries.get(jid))
        ]
        if published:
            raise QueueError(
                f"{bid} is published: job {published[0]} is queued or past its first state (delete_batch removes those)"
            )
        last_written = self._last_staged(bid)
        if self.clock() - last_written < quiet_for:
            raise QueueError(
                f"{bid} was written by a staging at {format_timestamp(last_written)}, less than {quiet_for} ago: "
                "it may still be running"
            )
        remove_batch(self.nodes, bid)
        return [Change(batch_path(bid), "unpublished", None)]

    def _job_states(self, bid: str, jids: list[str]) -> dict[str, JobState]:
        """Each listed job's state (pipelined); a job the batch lists without a status is an error naming both."""
        statuses = self.nodes.get_many([job_path(jid, "status") for jid in jids])
        states = {}
        for jid in jids:
            path = job_path(jid, "status")
            if statuses[path] is None:
                raise QueueError(f"{path} does not exist, but {batch_path(bid)} lists {jid}")
            states[jid] = parse_job_state(decode_json(statuses[path][0], path).get("status"), path)
        return states

    def _last_staged(self, bid: str) -> datetime:
        """When staging last wrote the batch: its claim, or its ``states`` marker, rewritten with every job transaction."""
        stats = [self.nodes.exists(batch_path(bid)), self.nodes.exists(batch_path(bid, "states"))]
        milliseconds = max(max(stat.ctime, stat.mtime) for stat in stats if stat is not None)
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
