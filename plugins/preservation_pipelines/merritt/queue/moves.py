"""Job moves: each job's status, queue entry and batch entry change in one version-guarded transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kazoo.exceptions import NoNodeError

from include.common.eastern_time import eastern_now
from include.merritt.layout import (
    EMPTY,
    batch_job_entry,
    batch_states_folder,
    decode_int,
    decode_json,
    decode_text,
    encode_json,
    job_path,
    job_state_folder,
    queue_entry,
)
from include.merritt.priority import DEFAULT_PRIORITY
from include.merritt.states import (
    JobState,
    TransitionError,
    batch_directory_for,
    move_job,
    parse_job_state,
    requeue_job_status,
)
from preservation_pipelines.merritt.queue.zookeeper import Change, Operation, QueueError, QueueNodes


class JobMoves:
    """Moves of jobs through the state machine, at ``clock``'s time."""

    def __init__(self, nodes: QueueNodes, *, clock: Callable[[], datetime] = eastern_now) -> None:
        self.nodes = nodes
        self.clock = clock

    def job_status(self, jid: str) -> tuple[dict[str, Any], int]:
        try:
            return self.nodes.read_json(job_path(jid, "status"))
        except NoNodeError:
            raise QueueError(f"{job_path(jid, 'status')} does not exist: no such job") from None

    def move_job(self, jid: str, target: JobState, message: str = "") -> list[Change]:
        return self.move_jobs([jid], target, message)

    def requeue_job(self, jid: str) -> list[Change]:
        """A Failed job → the state after its ``last_successful_status``, ``retry_count`` + 1 (Merritt's admin tool)."""
        return self._move_jobs(
            [jid],
            lambda status: requeue_job_status(status, at=self.clock(), message="re-queued by an operator"),
        )

    def move_jobs(
        self, jids: list[str], target: JobState, message: str = "", *, skip_locked: bool = False
    ) -> list[Change]:
        """Move jobs to ``target``; with ``skip_locked``, jobs a worker has locked are left as they are."""
        return self._move_jobs(
            jids, lambda status: move_job(status, target, at=self.clock(), message=message), skip_locked=skip_locked
        )

    def _move_jobs(
        self, jids: list[str], moved_status: Callable[[dict[str, Any]], dict[str, Any]], *, skip_locked: bool = False
    ) -> list[Change]:
        """Each job's status, queue entry and batch entry change in one transaction.

        Every job is read (pipelined) and checked against the state machine, and must
        not be locked by a worker, before anything is written: a refused move leaves all
        of them as they were. The status is written at the version read, so a worker's
        change in between makes the transaction fail instead of being overwritten. The
        jobs' moves go in as few transactions as fit, never splitting one job's move; a
        batch folder the move needs that does not exist yet is created with the first
        job that needs it.
        """
        reads = self.nodes.get_many([job_path(jid, child) for jid in jids for child in ("status", "bid", "priority")])
        locked = self.nodes.exists_many([job_path(jid, "lock") for jid in jids])
        moves = []
        for jid in jids:
            status_path = job_path(jid, "status")
            if reads[status_path] is None:
                raise QueueError(f"{status_path} does not exist: no such job")
            if locked[job_path(jid, "lock")]:
                if skip_locked:
                    continue
                raise QueueError(f"{job_path(jid, 'lock')} is held: a worker is running {jid}")
            status, stat = decode_json(reads[status_path][0], status_path), reads[status_path][1]
            current = parse_job_state(status.get("status"), status_path)
            try:
                moved = moved_status(status)
            except TransitionError as error:
                raise TransitionError(f"{status_path}: {error}") from None
            bid = decode_text((reads[job_path(jid, "bid")] or (b"",))[0])
            priority = decode_int(
                (reads[job_path(jid, "priority")] or (b"",))[0], job_path(jid, "priority"), default=DEFAULT_PRIORITY
            )
            moves.append((jid, current, moved, stat.version, bid, priority))
        present = self.nodes.exists_many(
            [queue_entry(current.directory, priority, jid) for jid, current, _, _, _, priority in moves]
            + [batch_job_entry(bid, batch_directory_for(current), jid) for jid, current, _, _, bid, _ in moves]
            + [
                batch_states_folder(bid, batch_directory_for(JobState(moved["status"])))
                for _, _, moved, _, bid, _ in moves
            ]
        )
        units, changes = [], []
        for jid, current, moved, version, bid, priority in moves:
            operations, job_changes = self._job_move_operations(
                jid, current, JobState(moved["status"]), moved, version, bid, priority, present
            )
            units.append(operations)
            changes += job_changes
        self.nodes.commit_units(units, f"move {len(moves)} job(s)")
        return changes

    def _job_move_operations(
        self, jid, current, target, moved, version, bid, priority, present
    ) -> tuple[list[Operation], list[Change]]:
        operations: list[Operation] = [("set", job_path(jid, "status"), (encode_json(moved), version))]
        changes = [Change(job_path(jid, "status"), current.value, target.value)]
        old_entry = queue_entry(current.directory, priority, jid)
        if not present[old_entry]:  # priority changed since the entry was made: look for it by jid
            old_entry = self._find_queue_entry(current, jid)
        new_entry = queue_entry(target.directory, priority, jid)
        if old_entry:
            operations.append(("delete", old_entry, None))
        operations.append(("create", new_entry, EMPTY))
        changes.append(Change(new_entry, old_entry, new_entry))
        old_dir, new_dir = batch_directory_for(current), batch_directory_for(target)
        if old_dir != new_dir:
            old_batch_entry, new_batch_entry = batch_job_entry(bid, old_dir, jid), batch_job_entry(bid, new_dir, jid)
            if present[old_batch_entry]:
                operations.append(("delete", old_batch_entry, None))
            folder = batch_states_folder(bid, new_dir)
            if not present[folder]:
                operations.append(("create", folder, EMPTY))
                present[folder] = True  # the next job of this batch finds it made
            operations.append(("create", new_batch_entry, EMPTY))
            changes.append(Change(new_batch_entry, old_batch_entry, new_batch_entry))
        return operations, changes

    def _find_queue_entry(self, state: JobState, jid: str) -> str | None:
        suffix = f"-{jid}"
        for name in self.nodes.children(job_state_folder(state.directory)):
            if name.endswith(suffix):
                return f"{job_state_folder(state.directory)}/{name}"
        return None
