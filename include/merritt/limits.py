"""What ZooKeeper accepts, measured before anything is written.

ZooKeeper refuses any request over ``jute.maxbuffer`` (0xfffff bytes, just under 1 MB,
by default) by dropping the connection: a client that retries the same write fails the
same way forever. Staging writes in transactions kept under ``MAX_TRANSACTION_BYTES``,
never splitting one job, so a submission can be staged only if its claim (the batch's
nodes with its submission and status) fits in one transaction and so does every job, together with
the batch-marker write that goes with it. ``find_oversize`` measures exactly those
transactions, with ids, times and statuses as long as staging can make them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from include.merritt.layout import (
    BATCH_SEQUENCE_PREFIX,
    EMPTY,
    JOB_SEQUENCE_PREFIX,
    batch_claim_nodes,
    batch_path,
    batch_states_folder,
    sequence_name,
)
from include.merritt.states import BatchState, new_batch_status, staged_job_status

if TYPE_CHECKING:
    from include.merritt.checkm import ManifestRow
    from include.merritt.jobs import JobPlan
    from include.merritt.submission import Submission

ZOOKEEPER_MAX_REQUEST_BYTES = 0xFFFFF  # jute.maxbuffer's default, on the server and in Merritt's Java clients
MAX_TRANSACTION_BYTES = 500_000  # staging's bound per transaction, well under the request limit
OPERATION_OVERHEAD_BYTES = 64  # op header, path/data lengths, the open ACL
_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # every timestamp is written in the same number of characters


def write_bytes(path: str, data: bytes) -> int:
    """What writing ``data`` at ``path`` adds to a request."""
    return len(path.encode("utf-8")) + len(data) + OPERATION_OVERHEAD_BYTES


def nodes_bytes(nodes: Iterable[tuple[str, bytes]]) -> int:
    return sum(write_bytes(path, data) for path, data in nodes)


@dataclass(frozen=True)
class Oversize:
    """A transaction staging would have to make that ZooKeeper would refuse."""

    what: str  # "the batch's claim" or "job N"
    size: int
    limit: int
    job_index: int | None = None  # which job (0-based), None for the claim


def find_oversize(
    submission: Submission, jobs: Sequence[JobPlan], *, max_transaction_bytes: int = MAX_TRANSACTION_BYTES
) -> Oversize | None:
    """The first transaction of this plan over the limit, or None when every one fits."""
    limit = min(max_transaction_bytes, ZOOKEEPER_MAX_REQUEST_BYTES)
    record = submission.record(_ANY_TIME)
    bid = sequence_name(BATCH_SEQUENCE_PREFIX, 0)
    claim = nodes_bytes(batch_claim_nodes(bid, record, new_batch_status(BatchState.PROCESSING, _ANY_TIME)))
    if claim > limit:
        return Oversize("the batch's claim", claim, limit)
    jid = sequence_name(JOB_SEQUENCE_PREFIX, 0)
    status = staged_job_status(_ANY_TIME, held_for=submission.profile)  # a held job's status is the longer one
    # each job transaction rewrites the states marker; the first one also creates states/batch-processing
    marker = write_bytes(batch_path(bid, "states"), EMPTY) + write_bytes(
        batch_states_folder(bid, "batch-processing"), EMPTY
    )
    for index, job in enumerate(jobs):
        size = marker + nodes_bytes(job.nodes(jid, bid, record, status))
        if size > limit:
            return Oversize(f"job {index + 1}", size, limit, index)
    return None


def largest_cell(row: ManifestRow) -> tuple[str, int]:
    """The field of the row's longest cell (in UTF-8 bytes) and that cell's column."""
    name = max(row.cells, key=lambda field: len(row.cells[field].encode("utf-8")))
    return name, row.columns[name]
