"""Where the legacy Pharos archive's files go: a local directory, or ``s3://bucket/prefix`` through
the amazon provider's S3Hook (connection ``aws_default``). Files are write-once."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class WriteOnceConflict(RuntimeError):
    """A file of that name exists with other content: it is never overwritten."""


class ArchiveLocation:
    """Write-once files under a directory or an S3 prefix; ``uri`` names the file for people."""

    def __init__(self, location: str, aws_conn_id: str | None = None) -> None:
        if not isinstance(location, str) or not location.strip():
            raise ValueError("the archive location setting is empty: set a directory or s3://bucket/prefix")
        self.location = location.strip().rstrip("/")
        self.aws_conn_id = aws_conn_id
        if self.is_s3:
            self.bucket, _, self.prefix = self.location.removeprefix("s3://").partition("/")
            if not self.bucket:
                raise ValueError(f"archive location {location!r} names no bucket")
        elif not Path(self.location).is_absolute():
            raise ValueError(f"archive location {location!r} is neither s3://bucket/prefix nor an absolute directory")

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")

    def uri(self, name: str) -> str:
        return f"{self.location}/{name}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _s3(self):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id or S3Hook.default_conn_name)

    def read(self, name: str) -> bytes | None:
        """The file's content, or None when there is none."""
        if self.is_s3:
            hook = self._s3()
            if not hook.check_for_key(self._key(name), self.bucket):
                return None
            return hook.get_key(self._key(name), self.bucket).get()["Body"].read()
        path = Path(self.location) / name
        return path.read_bytes() if path.exists() else None

    def write_once(self, name: str, content: bytes) -> bool:
        """Write ``name`` unless it exists with the same SHA-256 (left as is); returns whether written.

        Raises WriteOnceConflict when it exists with other content.
        """
        existing = self.read(name)
        if existing is not None:
            if hashlib.sha256(existing).digest() != hashlib.sha256(content).digest():
                raise WriteOnceConflict(f"{self.uri(name)} exists with other content; it is never overwritten")
            return False
        if self.is_s3:
            self._s3().load_bytes(content, self._key(name), self.bucket, replace=False)
            return True
        path = Path(self.location) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # complete or absent: written aside, then renamed into place
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as partial:
            partial.write(content)
            partial.flush()
            os.fsync(partial.fileno())
        os.replace(partial.name, path)
        return True
