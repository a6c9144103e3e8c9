"""The queue's batches: listing and reading them, the reporter's batch lock, and batch status moves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from kazoo.exceptions import NoNodeError

from include.common.eastern_time import eastern_now
from include.merritt.layout import (
    BATCH_JOB_DIRECTORIES,
    BATCHES,
    CorruptNodeError,
    batch_path,
    batch_states_folder,
    decode_json,
    encode_json,
    job_path,
)
from include.merritt.report import BatchReport
from include.merritt.states import BatchState, move_batch, parse_batch_state
from preservation_pipelines.merritt.queue.zookeeper import Change, QueueError, QueueNodes


class Batches:
    """The batches of the queue, read and moved at ``clock``'s time."""

    def __init__(self, nodes: QueueNodes, *, clock: Callable[[], datetime] = eastern_now) -> None:
        self.nodes = nodes
        self.clock = clock

    def batch_ids(self) -> list[str]:
        return sorted(name for name in self.nodes.children(BATCHES) if name.startswith("bid"))

    def batch_jids(self, bid: str) -> list[str]:
        """Every job of the batch, whatever its state, in creation (manifest) order."""
        jids: list[str] = []
        for directory in BATCH_JOB_DIRECTORIES:
            jids += self.nodes.children(batch_states_folder(bid, directory))
        return sorted(jids)

    def batch_statuses(self, bids: list[str]) -> dict[str, dict[str, Any] | CorruptNodeError | None]:
        """Each batch's status (None while it is being staged), or the error its node gave."""
        raw = self.nodes.get_many([batch_path(bid, "status") for bid in bids])
        statuses: dict[str, dict[str, Any] | CorruptNodeError | None] = {}
        for bid in bids:
            path = batch_path(bid, "status")
            try:
                statuses[bid] = None if raw[path] is None else decode_json(raw[path][0], path)
            except CorruptNodeError as error:
                statuses[bid] = error
        return statuses

    def processing_listings(self, bids: list[str]) -> dict[str, list[str] | None]:
        """The jobs each batch lists under ``states/batch-processing`` (pipelined); None where it does not exist."""
        folders = {bid: batch_states_folder(bid, "batch-processing") for bid in bids}
        listed = self.nodes.children_many(list(folders.values()))
        return {bid: listed[folder] for bid, folder in folders.items()}

    def all_jobs_finished(self, bid: str) -> bool:
        """Merritt's reporter's test: ``states/batch-processing`` exists and lists no job."""
        return self.processing_listings([bid])[bid] == []

    def locked(self, bids: list[str]) -> dict[str, bool]:
        """Whether each batch's ephemeral ``/batches/<bid>/lock`` is held (pipelined)."""
        found = self.nodes.exists_many([batch_path(bid, "lock") for bid in bids])
        return {bid: found[batch_path(bid, "lock")] for bid in bids}

    def batch_status(self, bid: str) -> tuple[dict[str, Any], int]:
        try:
            return self.nodes.read_json(batch_path(bid, "status"))
        except NoNodeError:
            raise QueueError(
                f"{batch_path(bid, 'status')} does not exist: no such batch, or still being staged"
            ) from None

    def read_report(self, bid: str) -> BatchReport:
        submission, _ = self.nodes.read_json(batch_path(bid, "submission"))
        listed = {
            directory: sorted(self.nodes.children(batch_states_folder(bid, directory)))
            for directory in BATCH_JOB_DIRECTORIES
        }
        failed = []
        statuses = self.nodes.get_many([job_path(jid, "status") for jid in listed["batch-failed"]])
        for jid in listed["batch-failed"]:
            path = job_path(jid, "status")
            failed.append(
                (jid, decode_json(statuses[path][0], path).get("message", "") if statuses[path] else "(no status)")
            )
        return BatchReport(
            bid=bid,
            submission=submission,
            completed=tuple(listed["batch-completed"]),
            failed=tuple(failed),
            deleted=tuple(listed["batch-deleted"]),
            processing=tuple(listed["batch-processing"]),
        )

    @contextmanager
    def batch_lock(self, bid: str) -> Iterator[bool]:
        """Hold ``/batches/<bid>/lock`` (ephemeral) as Merritt's reporter does; yields False if another holds it."""
        path = batch_path(bid, "lock")
        if not self.nodes.create(path, ephemeral=True):
            yield False
            return
        try:
            yield True
        finally:
            self.nodes.delete(path)  # False when the session ended: ZooKeeper removed the lock already

    def move_batch(
        self, bid: str, target: BatchState, message: str = "", *, expected: BatchState | None = None
    ) -> Change:
        """Move the batch's status to ``target``, written at the version read."""
        status, version = self.batch_status(bid)
        current = parse_batch_state(status.get("status"), batch_path(bid, "status"))
        if expected is not None and current is not expected:
            raise QueueError(f"{batch_path(bid, 'status')} is {current}, not {expected}")
        moved = move_batch(status, target, at=self.clock(), message=message)
        self.nodes.commit(
            [("set", batch_path(bid, "status"), (encode_json(moved), version))], f"move {bid} to {target}"
        )
        return Change(batch_path(bid, "status"), current.value, target.value)
