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
    decode_json,
    encode_json,
    format_timestamp,
    jid_of_queue_entry,
    job_path,
    job_state_folder,
    parse_timestamp,
)
from include.merritt.states import (
    BatchState,
    JobState,
    check_batch_move,
    move_batch,
    parse_batch_state,
    parse_job_state,
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
        """Remove the hold, then move the collection's Held batches to Processing and its Held jobs to Pending."""
        changes = self._delete_marker(collection_lock(profile))
        held_batches = []
        for bid, status in self.batches.batch_statuses(self.batches.batch_ids()).items():
            if isinstance(status, dict) and status.get("status") == BatchState.HELD.value:
                submission, _ = self.nodes.read_json(batch_path(bid, "submission"))
                if submission.get("profile") == profile:
                    held_batches.append(bid)
        for bid in held_batches:
            status, version = self.batches.batch_status(bid)
            released = move_batch(status, BatchState.PENDING, at=self.clock())
            processing = move_batch(
                released, BatchState.PROCESSING, at=self.clock(), message=f"collection {profile} released"
            )
            self.nodes.commit(
                [("set", batch_path(bid, "status"), (encode_json(processing), version))], f"release {bid}"
            )
            changes.append(Change(batch_path(bid, "status"), BatchState.HELD.value, BatchState.PROCESSING.value))
        held_jids = [
            jid_of_queue_entry(name) for name in self.nodes.children(job_state_folder(JobState.HELD.directory))
        ]
        configurations = self.nodes.get_many([job_path(jid, "configuration") for jid in held_jids])
        released = [
            jid
            for jid in held_jids
            if configurations[job_path(jid, "configuration")]
            and decode_json(configurations[job_path(jid, "configuration")][0], job_path(jid, "configuration")).get(
                "profile_name"
            )
            == profile
        ]
        return changes + self.jobs.move_jobs(released, JobState.PENDING, f"collection {profile} released")

    def delete_batch(self, bid: str) -> list[Change]:
        """Held or Failed batch → Deleted, with its Held and Failed jobs; refused if any job is still running."""
        status, _ = self.batches.batch_status(bid)
        current = parse_batch_state(status.get("status"), batch_path(bid, "status"))
        check_batch_move(current, BatchState.DELETED)
        jids = self.batches.batch_jids(bid)
        statuses = self.nodes.get_many([job_path(jid, "status") for jid in jids])
        to_delete = []
        for jid in jids:
            path = job_path(jid, "status")
            if statuses[path] is None:
                raise QueueError(f"{path} does not exist, but {batch_path(bid)} lists {jid}")
            state = parse_job_state(decode_json(statuses[path][0], path).get("status"), path)
            if state in (JobState.HELD, JobState.FAILED):
                to_delete.append(jid)
            elif state not in (JobState.COMPLETED, JobState.DELETED):
                raise QueueError(f"batch {bid} not deleted: job {jid} is {state}, which cannot move to Deleted")
        changes = self.jobs.move_jobs(to_delete, JobState.DELETED, f"batch {bid} deleted by an operator")
        changes.append(self.batches.move_batch(bid, BatchState.DELETED, "deleted by an operator", expected=current))
        return changes

    def remove_completed_batches(self, older_than: timedelta) -> list[Change]:
        """Delete Completed batches last modified before ``older_than`` ago: their jobs, entries and nodes."""
        cutoff = self.clock() - older_than
        changes = []
        for bid, status in self.batches.batch_statuses(self.batches.batch_ids()).items():
            if not isinstance(status, dict) or status.get("status") != BatchState.COMPLETED.value:
                continue
            if parse_timestamp(status.get("last_modified", ""), batch_path(bid, "status")) >= cutoff:
                continue
            remove_batch(self.nodes, bid)
            changes.append(Change(batch_path(bid), BatchState.COMPLETED.value, None))
        return changes

    def remove_unpublished_batch(self, bid: str, quiet_for: timedelta) -> list[Change]:
        """Remove a batch claimed but never published (no ``status``) that no staging has written to for ``quiet_for``.

        Nothing reads such a batch and none of its jobs is queued, so removing it loses
        nothing; the wait keeps a staging that is still running from losing its batch.
        """
        if self.nodes.exists(batch_path(bid)) is None:
            raise QueueError(f"{batch_path(bid)} does not exist")
        if self.nodes.exists(batch_path(bid, "status")) is not None:
            raise QueueError(f"{batch_path(bid, 'status')} exists: {bid} is published (delete_batch removes those)")
        last_written = self._last_staged(bid)
        if self.clock() - last_written < quiet_for:
            raise QueueError(
                f"{bid} was written by a staging at {format_timestamp(last_written)}, less than {quiet_for} ago: "
                "it may still be running"
            )
        remove_batch(self.nodes, bid)
        return [Change(batch_path(bid), "unpublished", None)]

    def _last_staged(self, bid: str) -> datetime:
        """When staging last wrote the batch: its claim, or its ``states`` marker, rewritten with every job transaction."""
        stats = [self.nodes.exists(batch_path(bid)), self.nodes.exists(batch_path(bid, "states"))]
        milliseconds = max(max(stat.ctime, stat.mtime) for stat in stats if stat is not None)
        return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
