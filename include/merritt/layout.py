"""Node paths and encodings of Merritt's queue, exactly as its workers read them, and the nodes of a new batch and job.

Maps are JSON, numbers decimal strings, markers empty bytes; timestamps
``yyyy-MM-dd HH:mm:ss Z`` (``2024-04-02 16:47:02 -0700``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

BATCHES = "/batches"
BATCH_SEQUENCE_PREFIX = "/batches/bid"
BATCH_UUIDS = "/batch-uuids"
JOBS = "/jobs"
JOB_SEQUENCE_PREFIX = "/jobs/jid"
JOB_STATES = "/jobs/states"
INGEST_QUEUE_LOCK = "/locks/queue/ingest"
COLLECTION_LOCKS = "/locks/collections"
BATCH_JOB_DIRECTORIES = ("batch-processing", "batch-completed", "batch-failed", "batch-deleted")
SEQUENCE_DIGITS = 10
EMPTY = b""


class CorruptNodeError(ValueError):
    """A node whose bytes are not what the layout says; the message names the node."""


# -- paths ------------------------------------------------------------------
def batch_path(bid: str, child: str | None = None) -> str:
    return f"{BATCHES}/{bid}" + (f"/{child}" if child else "")


def batch_states_folder(bid: str, directory: str) -> str:
    """``/batches/<bid>/states/<directory>``, where the batch lists its jobs in one kind of state."""
    return f"{BATCHES}/{bid}/states/{directory}"


def batch_job_entry(bid: str, directory: str, jid: str) -> str:
    return f"{batch_states_folder(bid, directory)}/{jid}"


def batch_uuid_path(submission_uuid: str) -> str:
    return f"{BATCH_UUIDS}/{submission_uuid}"


def job_path(jid: str, child: str | None = None) -> str:
    return f"{JOBS}/{jid}" + (f"/{child}" if child else "")


def job_state_folder(state_directory: str) -> str:
    """``/jobs/states/<state>``, the queue of the jobs in one state."""
    return f"{JOB_STATES}/{state_directory}"


def queue_entry_name(priority: int, jid: str) -> str:
    return f"{priority:02d}-{jid}"


def queue_entry(state_directory: str, priority: int, jid: str) -> str:
    return f"{job_state_folder(state_directory)}/{queue_entry_name(priority, jid)}"


def jid_of_queue_entry(name: str) -> str:
    return name.split("-", 1)[1]


def collection_lock(profile: str) -> str:
    return f"{COLLECTION_LOCKS}/{profile}"


def sequence_name(prefix: str, number: int) -> str:
    """The name ZooKeeper gives the ``number``-th PERSISTENT_SEQUENTIAL create at ``prefix``."""
    return f"{prefix.rsplit('/', 1)[1]}{number:0{SEQUENCE_DIGITS}d}"


# -- the nodes of a new batch and a new job -----------------------------------
def batch_claim_nodes(bid: str, submission_record: dict[str, Any], status: dict[str, Any]) -> list[tuple[str, bytes]]:
    """A batch as staging's first transaction creates it, parents first: the batch with its ``submission``,
    its ``status`` and its ``states`` marker, and the ``/batch-uuids`` entry (the submission's ``batchID``)
    naming it. Not ``states/batch-processing``: an empty one means "every job finished" to every reporter,
    so it comes with the first job."""
    return [
        (batch_path(bid), EMPTY),
        (batch_path(bid, "submission"), encode_json(submission_record)),
        (batch_path(bid, "status"), encode_json(status)),
        (batch_path(bid, "states"), EMPTY),
        (batch_uuid_path(submission_record["batchID"]), encode_text(bid)),
    ]


def job_nodes(
    jid: str,
    bid: str,
    *,
    priority: int,
    space_needed: int,
    configuration: dict[str, Any],
    identifiers: dict[str, Any],
    metadata: dict[str, Any],
    status: dict[str, Any],
) -> list[tuple[str, bytes]]:
    """A job's nodes, parent first, with the batch's entry listing it under ``batch-processing``."""
    return [
        (job_path(jid), EMPTY),
        (job_path(jid, "bid"), encode_text(bid)),
        (job_path(jid, "priority"), encode_int(priority)),
        (job_path(jid, "space_needed"), encode_int(space_needed)),
        (job_path(jid, "configuration"), encode_json(configuration)),
        (job_path(jid, "identifiers"), encode_json(identifiers)),
        (job_path(jid, "metadata"), encode_json(metadata)),
        (job_path(jid, "status"), encode_json(status)),
        (batch_job_entry(bid, "batch-processing", jid), EMPTY),
    ]


# -- encodings --------------------------------------------------------------
def encode_json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_json(data: bytes | None, path: str) -> dict[str, Any]:
    try:
        value = json.loads((data or b"").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptNodeError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise CorruptNodeError(f"{path}: expected a JSON object, found {type(value).__name__}")
    return value


def encode_int(value: int) -> bytes:
    return str(int(value)).encode("ascii")


def decode_int(data: bytes | None, path: str, default: int | None = None) -> int:
    text = (data or b"").decode("ascii", "replace").strip()
    if not text and default is not None:
        return default
    try:
        return int(text)
    except ValueError:
        raise CorruptNodeError(f"{path}: expected a decimal integer, found {text!r}") from None


def encode_text(value: str) -> bytes:
    return value.encode("utf-8")


def decode_text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8")


def format_timestamp(at: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss Z`` of an aware datetime, in its own offset."""
    if at.tzinfo is None:
        raise ValueError("timestamps need an aware datetime")
    return at.strftime("%Y-%m-%d %H:%M:%S %z")


def parse_timestamp(text: str, path: str = "timestamp") -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    except (TypeError, ValueError):
        raise CorruptNodeError(f"{path}: {text!r} is not a 'yyyy-MM-dd HH:mm:ss Z' timestamp") from None
