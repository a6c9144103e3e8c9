"""The Alma drop box on ``lib_sftp``: the SFTP provider's hook plus the moves it lacks.

SFTPHook has no rename; rotation and atomic upload use the paramiko client from
``get_managed_conn()``. ``posix_rename`` (OpenSSH's extension) replaces the target
in one step, so Alma sees either the old file or the complete new one.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone

from airflow.providers.sftp.hooks.sftp import SFTPHook


class SFTPDropBoxHook(SFTPHook):
    def __init__(self, ssh_conn_id: str = "lib_sftp", **kwargs) -> None:
        super().__init__(ssh_conn_id=ssh_conn_id, **kwargs)

    def rotate(self, current: str, previous: str) -> bool:
        """Delete ``previous`` if present, then rename ``current`` to ``previous`` if present.

        Returns whether ``current`` existed. Safe to repeat: a second call finds
        nothing to move.
        """
        with self.get_managed_conn() as sftp:
            if _exists(sftp, previous) and _exists(sftp, current):
                sftp.remove(previous)
            if not _exists(sftp, current):
                self.log.info("rotate: %s absent, nothing to rotate", current)
                return False
            sftp.posix_rename(current, previous)
            self.log.info("rotate: %s -> %s", current, previous)
            return True

    def upload_atomically(self, remote_path: str, chunks: Iterable[bytes]) -> int:
        """Stream ``chunks`` to a temporary name beside ``remote_path``, then rename.

        Returns the bytes written. On any failure the temporary file is removed and
        ``remote_path`` is untouched.
        """
        directory, name = posixpath.split(remote_path)
        temporary = posixpath.join(directory, f".{name}.{uuid.uuid4().hex}.part")
        written = 0
        with self.get_managed_conn() as sftp:
            try:
                with sftp.open(temporary, "wb") as remote_file:
                    remote_file.set_pipelined(True)
                    for chunk in chunks:
                        remote_file.write(chunk)
                        written += len(chunk)
                sftp.posix_rename(temporary, remote_path)
            except BaseException:
                if _exists(sftp, temporary):
                    sftp.remove(temporary)
                raise
        self.log.info("uploaded %s (%d bytes)", remote_path, written)
        return written

    def modified_at(self, path: str) -> datetime | None:
        """The file's mtime as an aware UTC datetime, or None when it does not exist."""
        with self.get_managed_conn() as sftp:
            try:
                return datetime.fromtimestamp(sftp.stat(path).st_mtime, tz=timezone.utc)
            except FileNotFoundError:
                return None


def _exists(sftp, path: str) -> bool:
    try:
        sftp.stat(path)
        return True
    except FileNotFoundError:
        return False
