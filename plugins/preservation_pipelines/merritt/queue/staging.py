"""Staging a submission as a batch of jobs, so that no reader ever sees it half-made.

1. *claim*: ``/batches/<bid>`` with its ``submission``, its ``status`` (Processing), its
   ``states`` marker and ``/batch-uuids/<batchID>``, in one transaction: a batch never
   exists without ``status``. The ``/batch-uuids`` node is the idempotency key. No
   ``states/batch-processing`` yet, so no reporter takes the batch.
2. *jobs*: every job with all its nodes and its ``states/batch-processing/<jid>``
   entry, in transactions kept under ZooKeeper's request size limit; the first also
   creates ``states/batch-processing``, so it never exists empty before the jobs are
   done. Jobs have no queue entry yet, so no worker can take them. (Their payload files
   are in the queue root before this starts: the operator puts them there.)
3. *queue*: the jobs' ``/jobs/states/pending|held/PP-jid`` entries, once every job exists.

A held collection (``/locks/collections/<profile>``) holds the jobs, never the batch:
each is staged Held (from Pending), listed under ``/jobs/states/held``; the batch is
Processing like any other.

Ids are the names PERSISTENT_SEQUENTIAL creates would give (``bid`` / ``jid`` plus the parent's ``cversion``), created
with the rest of the node in one transaction; a name another client took first fails it with NodeExists (nothing
written) and fresh names are tried. Each step reads what is already there, so a retry after a crash or a lost session
resumes after the last committed transaction, and refuses to go on if the jobs written are not its plan's (the
manifest changed). A write ZooKeeper refuses for another reason before any job is queued rolls the batch back
(:mod:`.removal`): never half a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kazoo.exceptions import BadVersionError, NodeExistsError

from include.common.eastern_time import eastern_now
from include.merritt.jobs import JobPlan
from include.merritt.layout import (
    BATCH_SEQUENCE_PREFIX,
    BATCHES,
    EMPTY,
    JOB_SEQUENCE_PREFIX,
    JOBS,
    batch_claim_nodes,
    batch_path,
    batch_states_folder,
    batch_uuid_path,
    collection_lock,
    decode_int,
    decode_json,
    decode_text,
    jid_of_queue_entry,
    job_path,
    job_state_folder,
    queue_entry,
    sequence_name,
)
from include.merritt.states import BatchState, JobState, new_batch_status, parse_job_state, staged_job_status
from include.merritt.submission import Submission
from preservation_pipelines.merritt.queue.batches import Batches
from preservation_pipelines.merritt.queue.removal import remove_batch
from preservation_pipelines.merritt.queue.zookeeper import (
    MAX_CONFLICTS,
    QueueError,
    QueueNodes,
    TransactionRefused,
    creates,
    flattened,
    size_bounded_chunks,
)

log = logging.getLogger(__name__)
ROW_NODES = ("configuration", "identifiers", "metadata")  # a job's nodes that its manifest row decides


class SubmissionChanged(QueueError):
    """The batch of this submission uuid was begun from other content: it cannot be finished with this plan."""


class StagingRolledBack(QueueError):
    """ZooKeeper refused a write (not a lost race): the unpublished batch was removed, so a retry starts afresh."""


@dataclass
class StagingResult:
    bid: str
    submission_uuid: str
    batch_id: str
    state: str
    jobs: int
    jobs_created: int
    first_jid: str
    last_jid: str
    already_staged: bool
    transactions: int
    round_trips: int


class BatchStaging:
    """Stages submissions on the queue; ``progress(step, done, total)`` hears of each committed chunk."""

    def __init__(
        self,
        nodes: QueueNodes,
        *,
        clock: Callable[[], datetime] = eastern_now,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.nodes = nodes
        self.clock = clock
        self.progress = progress or (lambda step, done, total: None)
        self.batches = Batches(nodes, clock=clock)

    def collection_held(self, profile: str) -> bool:
        return self.nodes.exists(collection_lock(profile)) is not None

    def find_batch(self, submission_uuid: str) -> str | None:
        data = self.nodes.get_or_none(batch_uuid_path(submission_uuid))
        return decode_text(data) if data is not None else None

    def jobs_begun(self, submission: Submission, jobs: list[JobPlan]) -> int:
        """How many of the plan's jobs an earlier try created (their payloads are in place); raises
        :class:`SubmissionChanged` if they are not this plan's first jobs."""
        bid = self.find_batch(submission.batch_id)
        if bid is None:
            return 0
        record, _ = self.nodes.read_json(batch_path(bid, "submission"))
        existing = self.batches.batch_jids(bid)
        self._check_same_plan(bid, record, existing, jobs)
        return len(existing)

    def stage(self, submission: Submission, jobs: list[JobPlan]) -> StagingResult:
        """Stage the batch and its jobs, or finish staging it; idempotent on the submission's batchID."""
        counted_from = (self.nodes.round_trips, self.nodes.transactions)
        self.nodes.ensure_layout()
        bid, record, claimed_now = self._claim_batch(submission)
        existing = self.batches.batch_jids(bid)
        self._check_same_plan(bid, record, existing, jobs)
        created = 0
        if len(existing) < len(jobs):
            if existing:  # resuming: keep the hold decision the interrupted run made, even if the hold changed since
                held = self.nodes.read_json(job_path(existing[0], "status"))[0].get("status") == JobState.HELD.value
            else:
                held = self.collection_held(submission.profile)
            job_status = staged_job_status(self.clock(), held_for=submission.profile if held else None)
            try:
                created = self._create_jobs(bid, record, jobs, job_status)
            except TransactionRefused as refused:
                remove_batch(self.nodes, bid)  # no job of it is queued yet: nothing has read it
                raise StagingRolledBack(f"{refused}; {bid} was rolled back: nothing of it is left") from refused
        jids = self.batches.batch_jids(bid)
        queued = self._queue_unqueued_jobs(jids)
        status, _ = self.nodes.read_json(batch_path(bid, "status"))
        already = not claimed_now and created == 0 and queued == 0
        return self._result(bid, submission, status["status"], jids, created, already, counted_from)

    def _result(self, bid, submission, state, jids, created, already, counted_from) -> StagingResult:
        return StagingResult(
            bid=bid,
            submission_uuid=submission.uuid,
            batch_id=submission.batch_id,
            state=state,
            jobs=len(jids),
            jobs_created=created,
            first_jid=jids[0] if jids else "",
            last_jid=jids[-1] if jids else "",
            already_staged=already,
            transactions=self.nodes.transactions - counted_from[1],
            round_trips=self.nodes.round_trips - counted_from[0],
        )

    def _claim_batch(self, submission: Submission) -> tuple[str, dict[str, Any], bool]:
        batch_id = submission.batch_id
        for _ in range(MAX_CONFLICTS):
            bid = self.find_batch(batch_id)
            if bid is not None:
                record, _ = self.nodes.read_json(batch_path(bid, "submission"))
                if record.get("batchID") != batch_id:
                    raise QueueError(
                        f"{batch_uuid_path(batch_id)} points to {bid}, whose submission is {record.get('batchID')!r}"
                    )
                return bid, record, False
            bid = sequence_name(BATCH_SEQUENCE_PREFIX, self.nodes.exists(BATCHES).cversion)
            at = self.clock()
            record = submission.record(at)
            try:
                self.nodes.commit(
                    creates(batch_claim_nodes(bid, record, new_batch_status(BatchState.PROCESSING, at))),
                    f"claim {bid} for submission {submission.uuid} ({batch_id})",
                )
            except TransactionRefused as refused:
                if isinstance(refused.error, NodeExistsError):
                    continue  # the name was taken, or another run claimed the batchID: look again
                raise
            log.info("claimed %s for submission %s (%s)", bid, submission.uuid, batch_id)
            return bid, record, True
        raise QueueError(f"could not claim a batch id under {BATCHES}: too much contention")

    def _check_same_plan(self, bid: str, record: dict[str, Any], jids: list[str], plans: list[JobPlan]) -> None:
        """The jobs an interrupted run created must be this plan's first jobs, or the batch would mix two manifests.

        Compared: the nodes a manifest row decides, and the batch's one priority on its
        first job (status nodes carry the run's clock and hold decision, the rest is fixed).
        """
        if not jids:
            return
        if len(jids) > len(plans):
            raise SubmissionChanged(f"{batch_path(bid)} lists {len(jids)} jobs but the submission has {len(plans)}")
        expected: dict[str, bytes] = {}
        for jid, plan in zip(jids, plans, strict=False):
            written = dict(plan.nodes(jid, bid, record, status={}))
            children = ROW_NODES if expected else ("priority", *ROW_NODES)  # the first job also has the priority
            expected.update((job_path(jid, child), written[job_path(jid, child)]) for child in children)
        found = self.nodes.get_many(list(expected))
        for path, data in expected.items():
            if found[path] is None or found[path][0] != data:
                raise SubmissionChanged(
                    f"{path} is not what this submission's manifest gives: {bid} was begun from other content"
                )

    def _create_jobs(self, bid: str, record: dict[str, Any], plans: list[JobPlan], status: dict[str, Any]) -> int:
        """Create the jobs not created yet, in manifest order, a transaction at a time.

        Every transaction also rewrites the (empty) ``states`` marker at the version read
        before it, so two runs staging the same submission at once cannot both add the
        same rows: the second one's transaction fails, it re-reads and carries on.
        """
        created, states, conflicts, last_done = 0, batch_path(bid, "states"), 0, -1
        processing = batch_states_folder(bid, "batch-processing")
        while conflicts < MAX_CONFLICTS:
            marker_version = self.nodes.exists(states).version
            first = self.nodes.exists(processing) is None  # the first jobs create the folder with their entries
            done = 0 if first else len(self.batches.batch_jids(bid))
            if done >= len(plans):
                return created
            if done > last_done:  # losing races to a run that makes progress is fine: only a standstill counts
                conflicts, last_done = 0, done
            counter = self.nodes.exists(JOBS).cversion
            jobs = (
                creates(plan.nodes(sequence_name(JOB_SEQUENCE_PREFIX, counter + offset), bid, record, status))
                for offset, plan in enumerate(plans[done:])
            )
            chunk = next(size_bounded_chunks(jobs, self.nodes.max_transaction_bytes))
            folder = [("create", processing, EMPTY)] if first else []
            try:
                self.nodes.commit(
                    [("set", states, (EMPTY, marker_version)), *folder, *flattened(chunk)], f"create jobs of {bid}"
                )
            except TransactionRefused as refused:
                if isinstance(refused.error, (NodeExistsError, BadVersionError)):
                    conflicts += 1
                    continue  # a job id was taken, or another run added jobs: read again
                raise
            created += len(chunk)
            self.progress("jobs created", done + len(chunk), len(plans))
        raise QueueError(f"could not create the jobs of {bid}: {MAX_CONFLICTS} transactions in a row lost a race")

    def _queue_unqueued_jobs(self, jids: list[str]) -> int:
        """Step 3: queue the jobs still waiting for their entry (all of them, unless a run was interrupted here).

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
            jid_of_queue_entry(name)
            for state in (JobState.PENDING, JobState.HELD)
            for name in self.nodes.children(job_state_folder(state.directory))
        }
        candidates = [jid for jid in jids if jid not in listed]
        if not candidates:
            return 0
        reads = self.nodes.get_many([job_path(jid, child) for jid in candidates for child in ("status", "priority")])
        locked = self.nodes.exists_many([job_path(jid, "lock") for jid in candidates])
        entries = []
        for jid in candidates:
            status_path, priority_path = job_path(jid, "status"), job_path(jid, "priority")
            if reads[status_path] is None or reads[priority_path] is None or locked[job_path(jid, "lock")]:
                continue
            state = parse_job_state(decode_json(reads[status_path][0], status_path).get("status"), status_path)
            if state in (JobState.PENDING, JobState.HELD):
                priority = decode_int(reads[priority_path][0], priority_path)
                entries.append([("create", queue_entry(state.directory, priority, jid), EMPTY)])
        queued = 0
        for chunk in size_bounded_chunks(entries, self.nodes.max_transaction_bytes):
            self.nodes.commit(flattened(chunk), "queue the jobs of a batch")
            queued += len(chunk)
            self.progress("jobs queued", queued, len(entries))
        if entries:
            log.info("queued %d jobs in /jobs/states", len(entries))
        return len(entries)
