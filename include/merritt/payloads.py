"""Each job's payload file in Merritt's ingest queue directory: ``<queue root>/<batchID>/<jobID>/<filename>``.

Merritt's workers never read ``payload_url``: every phase of a job works in its
directory under the ingest service's queue root (``<ingestServicePath>/queue``), so
staging puts exactly one file there, the job's payload, before the job is queued. A file
is written under a temporary name in the job's directory and renamed once it is whole
(and its digest, when the job has one, matches), so a file with the payload's name is
always a complete payload: a retry keeps those of the jobs already in ZooKeeper (checked
to be this submission's rows) and fetches the others again. Files are
group-writable (0664, directories 0775): Merritt's ingest service moves them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from include.merritt.checkm import MAX_MANIFEST_BYTES
from include.merritt.jobs import JobPlan
from include.merritt.submission import SubmissionError

MAX_PAYLOAD_BYTES = 50 * 2**30  # one file or container; a manifest is held to MAX_MANIFEST_BYTES
PAYLOAD_DEADLINE_SECONDS = 20 * 60.0  # one payload, every hop and byte of it
FILE_MODE, DIRECTORY_MODE = 0o664, 0o775
PART_PREFIX = ".staging-"  # a payload still being written; never seen by a worker (its job is not queued yet)
DIGESTS = {"md5": "md5", "sha-256": "sha256"}

# fetch_into(url, write, max_bytes, deadline_seconds) -> bytes written (include/merritt/fetch.py with its rules bound)
FetchInto = Callable[[str, Callable[[bytes], object], int, float], int]


class QueueRootError(RuntimeError):
    """The queue root is missing or cannot be written: nothing can be staged."""


class PayloadStoreError(RuntimeError):
    """Writing a payload file failed (disk full, permissions): worth a retry once fixed."""


class PayloadRefused(SubmissionError):
    """A payload that is not what its job says (its digest differs): fix the submission."""


class QueueRoot:
    """The ingest service's queue directory, as this worker mounts it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def check_writable(self) -> None:
        """Refuse a root that is not an existing directory this process can create files in."""
        if not self.path.is_absolute():
            raise QueueRootError(f"queue root {self.path} is not an absolute path")
        if not self.path.is_dir():
            raise QueueRootError(f"queue root {self.path} is not a directory (is the ingest filesystem mounted here?)")
        try:
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=PART_PREFIX):
                pass
        except OSError as error:
            raise QueueRootError(f"queue root {self.path} is not writable: {error.strerror}") from None

    def job_directory(self, batch_id: str, job_id: str) -> Path:
        return self.path / batch_id / job_id

    def payload_path(self, batch_id: str, job: JobPlan) -> Path:
        return self.job_directory(batch_id, job.job_id) / job.filename

    def has_payload(self, batch_id: str, job: JobPlan) -> bool:
        return self.payload_path(batch_id, job).is_file()

    def put_payload(self, batch_id: str, job: JobPlan, fetch_into: FetchInto, *, keep_existing: bool = False) -> bool:
        """Put the job's payload file in place (fetched, or the bytes the job holds), replacing one left by an
        earlier try unless ``keep_existing`` (its job exists: that try staged this very row); False if kept."""
        if keep_existing and self.has_payload(batch_id, job):
            return False
        directory = self.job_directory(batch_id, job.job_id)
        self._make_directories(directory)
        for stale in directory.glob(f"{PART_PREFIX}*"):  # left by an interrupted try
            stale.unlink(missing_ok=True)
        digest = hashlib.new(DIGESTS[job.digest_type]) if job.digest_type in DIGESTS else None
        target = self.payload_path(batch_id, job)
        with _PartFile(directory) as part:

            def write_and_hash(chunk: bytes) -> None:
                part.write(chunk)
                if digest is not None:
                    digest.update(chunk)

            if job.payload is not None:
                write_and_hash(job.payload)
            else:
                limit = MAX_MANIFEST_BYTES if job.type == "manifest" else MAX_PAYLOAD_BYTES
                fetch_into(job.payload_url, write_and_hash, limit, PAYLOAD_DEADLINE_SECONDS)
            if digest is not None and digest.hexdigest() != job.digest_value.lower():
                raise PayloadRefused(
                    f"payload: {job.payload_url} answered a file whose {job.digest_type} is {digest.hexdigest()}, "
                    f"not {job.digest_value} as the submission says ({job.filename})"
                )
            part.rename_to(target)
        return True

    def remove_batch_directory(self, batch_id: str) -> None:
        """Remove what staging wrote for a batch that will not be staged (nothing of it is in ZooKeeper)."""
        root = self.path / batch_id
        if not root.is_dir():
            return
        for directory, _, files in os.walk(root, topdown=False):
            for name in files:
                (Path(directory) / name).unlink(missing_ok=True)
            Path(directory).rmdir()

    def _make_directories(self, directory: Path) -> None:
        try:
            for path in (directory.parent, directory):
                path.mkdir(exist_ok=True)
                os.chmod(path, DIRECTORY_MODE)
        except OSError as error:
            raise PayloadStoreError(f"{directory}: {error.strerror}") from None


class _PartFile:
    """A temporary file in a job's directory: written, then renamed to the payload's name, else removed."""

    def __init__(self, directory: Path) -> None:
        try:
            self._handle = tempfile.NamedTemporaryFile(dir=directory, prefix=PART_PREFIX, delete=False)
        except OSError as error:
            raise PayloadStoreError(f"{directory}: {error.strerror}") from None
        self.path = Path(self._handle.name)

    def write(self, chunk: bytes) -> None:
        try:
            self._handle.write(chunk)
        except OSError as error:
            raise PayloadStoreError(f"{self.path}: {error.strerror}") from None

    def rename_to(self, target: Path) -> None:
        try:
            self._handle.close()
            os.chmod(self.path, FILE_MODE)
            os.replace(self.path, target)
        except OSError as error:
            raise PayloadStoreError(f"{target}: {error.strerror}") from None

    def __enter__(self) -> _PartFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)  # gone already once renamed
