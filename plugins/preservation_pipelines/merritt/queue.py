"""Merritt's ingest queue on a started kazoo client: staging, reporting reads and moves, administration.

Node names and encodings come from ``include.merritt.layout``; every move is checked
against ``include.merritt.states`` before it is written, and written in one ZooKeeper
transaction together with the queue entries it implies, guarded by the status node's
version, so a concurrent worker's change makes the move fail instead of being lost.

Staging writes a batch so that no reader ever sees it half-made:

1. *claim*: ``/batches/<bid>`` with its ``submission``, ``states`` folders and
   ``/batch-uuids/<uuid>`` in one transaction. The uuid node is the idempotency key;
   a batch without a ``status`` is still being staged and no reader acts on it.
2. *jobs*: every job with all its nodes and its ``states/batch-processing/<jid>``
   entry, in transactions kept under ZooKeeper's request size limit. Jobs have no
   queue entry yet, so no worker can take them.
3. *publish*: ``/batches/<bid>/status`` (Processing, or Held when the collection is
   held), then the jobs' ``/jobs/states/pending|held/PP-jid`` entries.

Ids are the names PERSISTENT_SEQUENTIAL creates would give (``bid`` / ``jid`` plus the
parent's child counter, ``cversion``), created with the rest of the node in the same
transaction; if another client took a name first the transaction fails with
NodeExists, nothing is written, and it is retried with fresh names. Each step reads
what is already there, so a retry after a crash or a lost session resumes where the
last committed transaction left off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, NotEmptyError, RolledBackError

from include.merritt.layout import (
    BATCH_JOB_DIRECTORIES,
    BATCH_SEQUENCE_PREFIX,
    BATCH_UUIDS,
    BATCHES,
    COLLECTION_LOCKS,
    EMPTY,
    INGEST_QUEUE_LOCK,
    JOB_SEQUENCE_PREFIX,
    JOB_STATES,
    JOBS,
    CorruptNodeError,
    batch_job_entry,
    batch_path,
    batch_uuid_path,
    collection_lock,
    decode_int,
    decode_json,
    decode_text,
    encode_json,
    encode_text,
    jid_of_queue_entry,
    job_path,
    parse_timestamp,
    queue_entry,
    sequence_name,
)
from include.merritt.report import BatchReport
from include.merritt.states import (
    BatchState,
    JobState,
    TransitionError,
    batch_directory_for,
    check_batch_move,
    move_batch,
    move_job,
    new_batch_status,
    new_job_status,
    parse_batch_state,
    parse_job_state,
    requeue_target,
)
from include.merritt.submission import JobPlan, Submission

log = logging.getLogger(__name__)
EASTERN = ZoneInfo("America/New_York")
# ZooKeeper refuses requests over jute.maxbuffer (1 MB by default); stay well under it.
MAX_TRANSACTION_BYTES = 500_000
OPERATION_OVERHEAD_BYTES = 64  # op header, path/data lengths, the open ACL
MAX_CONFLICTS = 20  # transactions in a row losing a race with another client before giving up
PIPELINE_DEPTH = 500  # reads in flight at once: ZooKeeper throttles a client beyond ~1000


class QueueError(RuntimeError):
    """The queue is not in a state that allows what was asked; the message names the node."""


@dataclass(frozen=True)
class Change:
    """One node changed by an action, as reported to the operator."""

    node: str
    before: str | None
    after: str | None


@dataclass
class StagingResult:
    bid: str
    submission_uuid: str
    state: str
    jobs: int
    jobs_created: int
    first_jid: str
    last_jid: str
    already_staged: bool
    transactions: int
    round_trips: int


def eastern_now() -> datetime:
    return datetime.now(EASTERN)


class MerrittQueue:
    def __init__(
        self,
        client,
        *,
        clock: Callable[[], datetime] = eastern_now,
        max_transaction_bytes: int = MAX_TRANSACTION_BYTES,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.max_transaction_bytes = max_transaction_bytes
        self.progress = progress or (lambda step, done, total: None)
        self.round_trips = 0
        self.transactions = 0

    # -- low-level reads and transactions ------------------------------------
    def _get(self, path: str) -> tuple[bytes, Any]:
        self.round_trips += 1
        return self.client.get(path)

    def _get_or_none(self, path: str) -> bytes | None:
        try:
            return self._get(path)[0]
        except NoNodeError:
            return None

    def _children(self, path: str) -> list[str]:
        self.round_trips += 1
        try:
            return self.client.get_children(path)
        except NoNodeError:
            return []

    def _exists(self, path: str):
        self.round_trips += 1
        return self.client.exists(path)

    def _json(self, path: str) -> tuple[dict[str, Any], int]:
        data, stat = self._get(path)
        return decode_json(data, path), stat.version

    def _get_many(self, paths: list[str]) -> dict[str, tuple[bytes, Any] | None]:
        """Read many nodes pipelined (PIPELINE_DEPTH requests in flight): ``(data, stat)`` or None if absent."""
        return self._pipelined(self.client.get_async, paths)

    def _exists_many(self, paths: list[str]) -> dict[str, bool]:
        found = self._pipelined(self.client.exists_async, paths)
        return {path: found[path] is not None for path in paths}

    def _pipelined(self, request, paths: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for start in range(0, len(paths), PIPELINE_DEPTH):
            pending = [(path, request(path)) for path in paths[start : start + PIPELINE_DEPTH]]
            self.round_trips += len(pending)
            for path, result in pending:
                try:
                    found[path] = result.get()
                except NoNodeError:
                    found[path] = None
        return found

    def commit(self, operations: list[tuple], what: str) -> None:
        """Commit ``(kind, path, value-or-version)`` operations atomically; raise naming the failing node."""
        transaction = self.client.transaction()
        for kind, path, argument in operations:
            if kind == "create":
                transaction.create(path, argument)
            elif kind == "set":
                transaction.set_data(path, argument[0], version=argument[1])
            elif kind == "delete":
                transaction.delete(path, version=argument if argument is not None else -1)
        self.round_trips += 1
        self.transactions += 1
        results = transaction.commit()
        for (kind, path, _), result in zip(operations, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, RolledBackError):
                raise TransactionRefused(what, kind, path, result)

    def _chunks(self, operations: Iterable[tuple]) -> Iterator[list[tuple]]:
        chunk, size = [], 0
        for operation in operations:
            cost = _operation_bytes(operation)
            if chunk and size + cost > self.max_transaction_bytes:
                yield chunk
                chunk, size = [], 0
            chunk.append(operation)
            size += cost
        if chunk:
            yield chunk

    def ensure_layout(self) -> None:
        for path in (BATCHES, BATCH_UUIDS, JOBS, COLLECTION_LOCKS, INGEST_QUEUE_LOCK.rsplit("/", 1)[0]) + tuple(
            f"{JOB_STATES}/{state.directory}" for state in JobState
        ):
            if self._exists(path) is None:
                try:
                    self.client.ensure_path(path)
                except NodeExistsError:
                    pass

    # -- staging ---------------------------------------------------------------
    def collection_held(self, profile: str) -> bool:
        return self._exists(collection_lock(profile)) is not None

    def ingest_frozen(self) -> bool:
        return self._exists(INGEST_QUEUE_LOCK) is not None

    def find_batch(self, submission_uuid: str) -> str | None:
        data = self._get_or_none(batch_uuid_path(submission_uuid))
        return decode_text(data) if data is not None else None

    def stage(self, submission: Submission, jobs: list[JobPlan]) -> StagingResult:
        """Stage the batch and its jobs, or finish staging it; idempotent on the submission uuid."""
        self.round_trips = self.transactions = 0
        self.ensure_layout()
        bid, record, claimed_now = self._claim_batch(submission)
        if self._exists(batch_path(bid, "status")) is not None:
            status, _ = self._json(batch_path(bid, "status"))
            jids = self.batch_jids(bid)
            self._queue_unqueued_jobs(jids)
            return self._result(bid, submission, status["status"], jids, created=0, already=not claimed_now)
        existing = self.batch_jids(bid)
        if len(existing) > len(jobs):
            raise QueueError(f"{batch_path(bid)} lists {len(existing)} jobs but the submission has {len(jobs)}")
        if existing:  # resuming: keep the decision the interrupted run made, even if the hold changed since
            held = self._json(job_path(existing[0], "status"))[0].get("status") == JobState.HELD.value
        else:
            held = self.collection_held(submission.profile)
        at = self.clock()
        job_status = new_job_status(at)
        if held:
            job_status = move_job(job_status, JobState.HELD, at=at, message=f"collection {submission.profile} is held")
        created = self._create_jobs(bid, record, jobs, job_status)
        jids = self.batch_jids(bid)
        state = BatchState.HELD if held else BatchState.PROCESSING
        try:
            self._publish(bid, jids, jobs[0].priority, state, at)
        except TransactionRefused as refused:
            if refused.path != batch_path(bid, "status") or not isinstance(refused.error, NodeExistsError):
                raise
            log.info("another run published %s meanwhile", bid)
            self._queue_unqueued_jobs(jids)
        return self._result(bid, submission, state.value, jids, created=created, already=False)

    def _result(self, bid, submission, state, jids, *, created, already) -> StagingResult:
        return StagingResult(
            bid=bid,
            submission_uuid=submission.uuid,
            state=state,
            jobs=len(jids),
            jobs_created=created,
            first_jid=jids[0] if jids else "",
            last_jid=jids[-1] if jids else "",
            already_staged=already,
            transactions=self.transactions,
            round_trips=self.round_trips,
        )

    def _claim_batch(self, submission: Submission) -> tuple[str, dict[str, Any], bool]:
        for _ in range(MAX_CONFLICTS):
            bid = self.find_batch(submission.uuid)
            if bid is not None:
                record, _ = self._json(batch_path(bid, "submission"))
                if record.get("batchID") != submission.uuid:
                    raise QueueError(
                        f"{batch_uuid_path(submission.uuid)} points to {bid}, whose submission is {record.get('batchID')!r}"
                    )
                return bid, record, False
            bid = sequence_name(BATCH_SEQUENCE_PREFIX, self._exists(BATCHES).cversion)
            record = submission.record(self.clock())
            operations = [
                ("create", batch_path(bid), EMPTY),
                ("create", batch_path(bid, "submission"), encode_json(record)),
                ("create", batch_path(bid, "states"), EMPTY),
                *[("create", f"{batch_path(bid, 'states')}/{directory}", EMPTY) for directory in BATCH_JOB_DIRECTORIES],
                ("create", batch_uuid_path(submission.uuid), encode_text(bid)),
            ]
            try:
                self.commit(operations, f"claim {bid} for submission {submission.uuid}")
            except TransactionRefused as refused:
                if isinstance(refused.error, NodeExistsError):
                    continue  # the name was taken, or another run claimed the uuid: look again
                raise
            log.info("claimed %s for submission %s", bid, submission.uuid)
            return bid, record, True
        raise QueueError(f"could not claim a batch id under {BATCHES}: too much contention")

    def batch_jids(self, bid: str) -> list[str]:
        """Every job of the batch, whatever its state, in creation (manifest) order."""
        jids: list[str] = []
        for directory in BATCH_JOB_DIRECTORIES:
            jids += self._children(f"{batch_path(bid, 'states')}/{directory}")
        return sorted(jids)

    def _create_jobs(self, bid, record, plans: list[JobPlan], status) -> int:
        """Create the jobs not created yet, in manifest order, a transaction at a time.

        Every transaction also rewrites the (empty) ``states`` marker at the version read
        before it, so two runs staging the same submission at once cannot both add the
        same rows: the second one's transaction fails, it re-reads and carries on.
        """
        created, states, conflicts, last_done = 0, batch_path(bid, "states"), 0, -1
        while conflicts < MAX_CONFLICTS:
            marker_version = self._exists(states).version
            done = len(self._children(f"{states}/batch-processing"))
            if done >= len(plans):
                return created
            if done > last_done:  # losing races to a run that makes progress is fine: only a standstill counts
                conflicts, last_done = 0, done
            counter = self._exists(JOBS).cversion
            operations, size, count = [("set", states, (EMPTY, marker_version))], 0, 0
            for offset, plan in enumerate(plans[done:]):
                nodes = plan.nodes(sequence_name(JOB_SEQUENCE_PREFIX, counter + offset), bid, record, status)
                cost = sum(len(path) + len(data) + OPERATION_OVERHEAD_BYTES for path, data in nodes)
                if count and size + cost > self.max_transaction_bytes:
                    break
                operations += [("create", path, data) for path, data in nodes]
                size += cost
                count += 1
            try:
                self.commit(operations, f"create jobs of {bid}")
            except TransactionRefused as refused:
                if isinstance(refused.error, (NodeExistsError, BadVersionError)):
                    conflicts += 1
                    continue  # a job id was taken, or another run added jobs: read again
                raise
            created += count
            self.progress("jobs created", done + count, len(plans))
        raise QueueError(f"could not create the jobs of {bid}: {MAX_CONFLICTS} transactions in a row lost a race")

    def _publish(self, bid: str, jids: list[str], priority: int, state: BatchState, at: datetime) -> None:
        directory = (JobState.HELD if state is BatchState.HELD else JobState.PENDING).directory
        operations = [("create", batch_path(bid, "status"), encode_json(new_batch_status(state, at)))]
        operations += [("create", queue_entry(directory, priority, jid), EMPTY) for jid in jids]
        queued = 0
        for chunk in self._chunks(operations):
            self.commit(chunk, f"publish {bid}")
            queued += sum(1 for _, path, _ in chunk if path.startswith(JOB_STATES))
            self.progress("jobs queued", queued, len(jids))
        log.info("published %s as %s with %d jobs in /jobs/states/%s", bid, state.value, len(jids), directory)

    def _queue_unqueued_jobs(self, jids: list[str]) -> int:
        """After a staging interrupted while publishing: queue the jobs still waiting for their entry.

        A job needs one when it is still in its initial state (Pending or Held), has no
        entry for that state, and no worker holds its lock. Entries another run creates
        meanwhile make a transaction fail; the jobs are then looked at again.
        """
        for _ in range(MAX_CONFLICTS):
            try:
                return self._queue_unqueued_once(jids)
            except TransactionRefused as refused:
                if not isinstance(refused.error, NodeExistsError):
                    raise
        raise QueueError("could not queue the rest of the batch: another run keeps queuing the same jobs")

    def _queue_unqueued_once(self, jids: list[str]) -> int:
        listed = {
            state: {jid_of_queue_entry(name) for name in self._children(f"{JOB_STATES}/{state.directory}")}
            for state in (JobState.PENDING, JobState.HELD)
        }
        candidates = [jid for jid in jids if not any(jid in names for names in listed.values())]
        if not candidates:
            return 0
        statuses = self._get_many([job_path(jid, "status") for jid in candidates])
        operations = []
        for jid in candidates:
            found = statuses[job_path(jid, "status")]
            if found is None:
                continue
            data = found[0]
            state = parse_job_state(decode_json(data, job_path(jid, "status")).get("status"), job_path(jid, "status"))
            if state in (JobState.PENDING, JobState.HELD) and self._exists(job_path(jid, "lock")) is None:
                priority = decode_int(self._get(job_path(jid, "priority"))[0], job_path(jid, "priority"))
                operations.append(("create", queue_entry(state.directory, priority, jid), EMPTY))
        for chunk in self._chunks(operations):
            self.commit(chunk, "queue the rest of a batch")
        if operations:
            log.info("queued %d jobs an interrupted staging had not queued yet", len(operations))
        return len(operations)

    # -- reading batches -------------------------------------------------------
    def batch_ids(self) -> list[str]:
        return sorted(name for name in self._children(BATCHES) if name.startswith("bid"))

    def batch_statuses(self, bids: list[str]) -> dict[str, dict[str, Any] | CorruptNodeError | None]:
        """Each batch's status (None while it is being staged), or the error its node gave."""
        raw = self._get_many([batch_path(bid, "status") for bid in bids])
        statuses: dict[str, dict[str, Any] | CorruptNodeError | None] = {}
        for bid in bids:
            path = batch_path(bid, "status")
            try:
                statuses[bid] = None if raw[path] is None else decode_json(raw[path][0], path)
            except CorruptNodeError as error:
                statuses[bid] = error
        return statuses

    def processing_counts(self, bids: list[str]) -> dict[str, int]:
        """How many jobs each batch still lists under ``states/batch-processing`` (pipelined)."""
        counts = {}
        for start in range(0, len(bids), PIPELINE_DEPTH):
            pending = [
                (bid, self.client.get_children_async(f"{batch_path(bid, 'states')}/batch-processing"))
                for bid in bids[start : start + PIPELINE_DEPTH]
            ]
            self.round_trips += len(pending)
            for bid, result in pending:
                try:
                    counts[bid] = len(result.get())
                except NoNodeError:
                    counts[bid] = 0
        return counts

    def batch_status(self, bid: str) -> tuple[dict[str, Any], int]:
        try:
            return self._json(batch_path(bid, "status"))
        except NoNodeError:
            raise QueueError(
                f"{batch_path(bid, 'status')} does not exist: no such batch, or still being staged"
            ) from None

    def read_report(self, bid: str) -> BatchReport:
        submission, _ = self._json(batch_path(bid, "submission"))
        listed = {
            directory: sorted(self._children(f"{batch_path(bid, 'states')}/{directory}"))
            for directory in BATCH_JOB_DIRECTORIES
        }
        failed = []
        statuses = self._get_many([job_path(jid, "status") for jid in listed["batch-failed"]])
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
        try:
            self.round_trips += 1
            self.client.create(path, EMPTY, ephemeral=True)
        except NodeExistsError:
            yield False
            return
        try:
            yield True
        finally:
            try:
                self.client.delete(path)
            except NoNodeError:
                pass  # the session ended: ZooKeeper already removed it

    def move_batch(
        self, bid: str, target: BatchState, message: str = "", *, expected: BatchState | None = None
    ) -> Change:
        status, version = self.batch_status(bid)
        current = parse_batch_state(status.get("status"), batch_path(bid, "status"))
        if expected is not None and current is not expected:
            raise QueueError(f"{batch_path(bid, 'status')} is {current}, not {expected}")
        moved = move_batch(status, target, at=self.clock(), message=message)
        self.commit([("set", batch_path(bid, "status"), (encode_json(moved), version))], f"move {bid} to {target}")
        return Change(batch_path(bid, "status"), current.value, target.value)

    # -- jobs ------------------------------------------------------------------
    def job_status(self, jid: str) -> tuple[dict[str, Any], int]:
        try:
            return self._json(job_path(jid, "status"))
        except NoNodeError:
            raise QueueError(f"{job_path(jid, 'status')} does not exist: no such job") from None

    def move_jobs(self, jids: list[str], target: JobState, message: str = "") -> list[Change]:
        """Move jobs to ``target``: each job's status, queue entry and batch entry change in one transaction.

        Every job is read (pipelined) and checked against the state machine, and must
        not be locked by a worker, before anything is written: a refused move leaves all
        of them as they were. The
        status is written at the version read, so a worker's change in between makes
        the transaction fail instead of being overwritten.
        """
        reads = self._get_many([job_path(jid, child) for jid in jids for child in ("status", "bid", "priority")])
        locked = self._exists_many([job_path(jid, "lock") for jid in jids])
        moves = []
        for jid in jids:
            status_path = job_path(jid, "status")
            if reads[status_path] is None:
                raise QueueError(f"{status_path} does not exist: no such job")
            if locked[job_path(jid, "lock")]:
                raise QueueError(f"{job_path(jid, 'lock')} is held: a worker is running {jid}")
            status, stat = decode_json(reads[status_path][0], status_path), reads[status_path][1]
            current = parse_job_state(status.get("status"), status_path)
            moved = move_job(status, target, at=self.clock(), message=message)
            bid = decode_text((reads[job_path(jid, "bid")] or (b"",))[0])
            priority = decode_int((reads[job_path(jid, "priority")] or (b"",))[0], job_path(jid, "priority"), default=5)
            moves.append((jid, current, moved, stat.version, bid, priority))
        present = self._exists_many(
            [queue_entry(current.directory, priority, jid) for jid, current, _, _, _, priority in moves]
            + [batch_job_entry(bid, batch_directory_for(current), jid) for jid, current, _, _, bid, _ in moves]
        )
        units, changes = [], []
        for jid, current, moved, version, bid, priority in moves:
            operations, job_changes = self._job_move_operations(
                jid, current, target, moved, version, bid, priority, present
            )
            units.append(operations)
            changes += job_changes
        self._commit_units(units, f"move {len(jids)} job(s) to {target}")
        return changes

    def _job_move_operations(self, jid, current, target, moved, version, bid, priority, present):
        operations = [("set", job_path(jid, "status"), (encode_json(moved), version))]
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
            operations.append(("create", new_batch_entry, EMPTY))
            changes.append(Change(new_batch_entry, old_batch_entry, new_batch_entry))
        return operations, changes

    def _commit_units(self, units: list[list[tuple]], what: str) -> None:
        """Commit units of operations in as few transactions as fit, never splitting a unit."""
        chunk, size = [], 0
        for unit in units:
            cost = sum(_operation_bytes(operation) for operation in unit)
            if chunk and size + cost > self.max_transaction_bytes:
                self.commit(chunk, what)
                chunk, size = [], 0
            chunk += unit
            size += cost
        if chunk:
            self.commit(chunk, what)

    def _find_queue_entry(self, state: JobState, jid: str) -> str | None:
        suffix = f"-{jid}"
        for name in self._children(f"{JOB_STATES}/{state.directory}"):
            if name.endswith(suffix):
                return f"{JOB_STATES}/{state.directory}/{name}"
        return None

    def move_job(self, jid: str, target: JobState, message: str = "") -> list[Change]:
        return self.move_jobs([jid], target, message)

    def requeue_job(self, jid: str) -> list[Change]:
        status, _ = self.job_status(jid)
        current = parse_job_state(status.get("status"), job_path(jid, "status"))
        if current is not JobState.FAILED:
            raise TransitionError(f"job {jid} is {current}, not Failed: only failed jobs are re-queued")
        return self.move_job(jid, requeue_target(status.get("last_successful_status")), "re-queued by an operator")

    # -- administration --------------------------------------------------------
    def create_marker(self, path: str) -> list[Change]:
        try:
            self.client.create(path, EMPTY, makepath=True)
        except NodeExistsError:
            return []
        return [Change(path, None, path)]

    def delete_marker(self, path: str) -> list[Change]:
        try:
            self.client.delete(path)
        except NoNodeError:
            return []
        return [Change(path, path, None)]

    def release_collection(self, profile: str) -> list[Change]:
        """Remove the hold, then move the collection's Held batches to Processing and its Held jobs to Pending."""
        changes = self.delete_marker(collection_lock(profile))
        held_batches = []
        for bid, status in self.batch_statuses(self.batch_ids()).items():
            if isinstance(status, dict) and status.get("status") == BatchState.HELD.value:
                submission, _ = self._json(batch_path(bid, "submission"))
                if submission.get("profile") == profile:
                    held_batches.append(bid)
        for bid in held_batches:
            status, version = self.batch_status(bid)
            released = move_batch(status, BatchState.PENDING, at=self.clock())
            processing = move_batch(
                released, BatchState.PROCESSING, at=self.clock(), message=f"collection {profile} released"
            )
            self.commit([("set", batch_path(bid, "status"), (encode_json(processing), version))], f"release {bid}")
            changes.append(Change(batch_path(bid, "status"), BatchState.HELD.value, BatchState.PROCESSING.value))
        held_jids = [jid_of_queue_entry(name) for name in self._children(f"{JOB_STATES}/held")]
        configurations = self._get_many([job_path(jid, "configuration") for jid in held_jids])
        released = [
            jid
            for jid in held_jids
            if configurations[job_path(jid, "configuration")]
            and decode_json(configurations[job_path(jid, "configuration")][0], job_path(jid, "configuration")).get(
                "profile_name"
            )
            == profile
        ]
        return changes + self.move_jobs(released, JobState.PENDING, f"collection {profile} released")

    def delete_batch(self, bid: str) -> list[Change]:
        """Held or Failed batch → Deleted, with its Held and Failed jobs; refused if any job is still running."""
        status, _ = self.batch_status(bid)
        current = parse_batch_state(status.get("status"), batch_path(bid, "status"))
        check_batch_move(current, BatchState.DELETED)
        jids = self.batch_jids(bid)
        statuses = self._get_many([job_path(jid, "status") for jid in jids])
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
        changes = self.move_jobs(to_delete, JobState.DELETED, f"batch {bid} deleted by an operator")
        changes.append(self.move_batch(bid, BatchState.DELETED, "deleted by an operator", expected=current))
        return changes

    def remove_completed_batches(self, older_than: timedelta) -> list[Change]:
        """Delete Completed batches last modified before ``older_than`` ago: their jobs, entries and nodes."""
        cutoff = self.clock() - older_than
        changes = []
        for bid, status in self.batch_statuses(self.batch_ids()).items():
            if not isinstance(status, dict) or status.get("status") != BatchState.COMPLETED.value:
                continue
            if parse_timestamp(status.get("last_modified", ""), batch_path(bid, "status")) >= cutoff:
                continue
            changes += self._remove_batch(bid)
        return changes

    def _remove_batch(self, bid: str) -> list[Change]:
        """Delete a batch's jobs (with their queue entries), then the batch and its ``/batch-uuids`` node.

        Each job goes in one transaction with its entry; the batch's own nodes go last,
        deepest first, the batch node itself in the final transaction. A run stopped half
        way leaves a Completed batch missing some jobs, which the next run removes.
        """
        if self._exists(batch_path(bid, "lock")) is not None:
            raise QueueError(f"{batch_path(bid, 'lock')} is held: batch {bid} is being reported")
        submission, _ = self._json(batch_path(bid, "submission"))
        jids = self.batch_jids(bid)
        reads = self._get_many([job_path(jid, child) for jid in jids for child in ("status", "priority")])
        entries = {}
        for jid in jids:
            status, priority = reads[job_path(jid, "status")], reads[job_path(jid, "priority")]
            if status is not None and priority is not None:
                state = parse_job_state(
                    decode_json(status[0], job_path(jid, "status")).get("status"), job_path(jid, "status")
                )
                entries[jid] = queue_entry(state.directory, decode_int(priority[0], job_path(jid, "priority")), jid)
        present = self._exists_many(list(entries.values()))
        trees = self._subtrees([job_path(jid) for jid in jids])
        units = [
            ([("delete", entries[jid], None)] if present.get(entries.get(jid)) else [])
            + [("delete", path, None) for path in trees[job_path(jid)]]
            for jid in jids
        ]
        self._commit_units(units, f"remove the jobs of {bid}")
        operations = [("delete", path, None) for path in self._subtrees([batch_path(bid)])[batch_path(bid)]]
        uuid_node = batch_uuid_path(submission.get("batchID", ""))
        if decode_text(self._get_or_none(uuid_node) or b"") == bid:
            operations.append(("delete", uuid_node, None))
        try:
            self._commit_units([[operation] for operation in operations], f"remove {bid}")
        except TransactionRefused as refused:
            if isinstance(refused.error, NotEmptyError):
                raise QueueError(f"{refused.path} changed while {bid} was being removed; run again") from None
            raise
        return [Change(batch_path(bid), BatchState.COMPLETED.value, None)]

    def _subtrees(self, roots: list[str]) -> dict[str, list[str]]:
        """Each root and everything under it, deepest first (the order deletes must go in); read level by level."""
        found = {root: [root] for root in roots}
        frontier = [(root, root) for root in roots]
        while frontier:
            children = self._pipelined(self.client.get_children_async, [path for _, path in frontier])
            next_frontier = []
            for root, path in frontier:
                for child in children[path] or []:
                    found[root].append(f"{path}/{child}")
                    next_frontier.append((root, f"{path}/{child}"))
            frontier = next_frontier
        return {root: paths[::-1] for root, paths in found.items()}


class TransactionRefused(QueueError):
    """ZooKeeper refused one operation of a transaction, so none of it was applied."""

    def __init__(self, what: str, kind: str, path: str, error: Exception) -> None:
        self.kind, self.path, self.error = kind, path, error
        super().__init__(f"{what}: {kind} {path} refused ({type(error).__name__}); nothing was written")


def _operation_bytes(operation: tuple) -> int:
    kind, path, argument = operation
    data = argument if kind == "create" else argument[0] if kind == "set" else b""
    return len(path) + len(data) + OPERATION_OVERHEAD_BYTES


def changes_as_dicts(changes: list[Change]) -> list[dict[str, Any]]:
    return [asdict(change) for change in changes]
