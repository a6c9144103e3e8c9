"""The Alma drop box on its SFTP connection: the SFTP provider's hook plus the moves it lacks.

SFTPHook has no rename; rotation and atomic upload use the paramiko client from
``get_managed_conn()``. ``posix_rename`` (OpenSSH's extension) replaces the target
in one step, so Alma sees either the old file or the complete new one, and keeps
the file's mtime, which is how a consumed report is still known to be that day's.

The provider's hook is built on first use, not subclassed: its module pulls in
paramiko and asyncssh (most of a second), and operators read this hook's
``default_conn_name`` when a DAG file is parsed.
"""

from __future__ import annotations

import posixpath
import stat
import time
import uuid
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from airflow.providers.sftp.hooks.sftp import SFTPHook

PART_SUFFIX = ".part"


class SFTPDropBoxHook(BaseHook):
    conn_name_attr = "sftp_conn_id"
    default_conn_name = "lib_sftp"
    conn_type = "sftp"
    hook_name = "Alma drop box (SFTP)"

    def __init__(self, sftp_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.sftp_conn_id = sftp_conn_id

    @cached_property
    def sftp(self) -> SFTPHook:
        """The SFTP provider's hook on this connection (host-key checking as the connection says)."""
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        return SFTPHook(ssh_conn_id=self.sftp_conn_id)

    def rotate(self, current: str, previous: str) -> bool:
        """Delete ``previous`` if ``current`` exists, then rename ``current`` to ``previous``.

        Returns whether ``current`` existed. Safe to repeat: a second call finds
        nothing to move and leaves ``previous`` alone.
        """
        with self.sftp.get_managed_conn() as sftp:
            if not _exists(sftp, current):
                self.log.info("rotate: %s absent, nothing to rotate", current)
                return False
            if _exists(sftp, previous):
                sftp.remove(previous)
            sftp.posix_rename(current, previous)
            self.log.info("rotate: %s -> %s", current, previous)
            return True

    def read_bytes(self, path: str) -> bytes:
        with self.sftp.get_managed_conn() as sftp, sftp.open(path, "rb") as remote_file:
            remote_file.prefetch()
            return remote_file.read()

    def modified_at(self, path: str) -> datetime | None:
        """The file's mtime as an aware UTC datetime, or None when it does not exist."""
        with self.sftp.get_managed_conn() as sftp:
            try:
                return datetime.fromtimestamp(sftp.stat(path).st_mtime, tz=UTC)
            except FileNotFoundError:
                return None

    def delete_file(self, path: str) -> None:
        self.sftp.delete_file(path)

    def upload_atomically(
        self, local_path: str | Path, remote_path: str, *, attempts: int = 4, backoff: float = 5.0
    ) -> int:
        """Upload a local file to a temporary name beside ``remote_path``, then rename it.

        Returns the bytes written. A failed attempt removes its temporary file when the
        server still answers, and leftovers of earlier attempts are removed before the
        next; ``remote_path`` is only ever replaced whole. Connection failures are
        retried ``attempts`` times with exponential backoff.
        """
        for attempt in range(1, attempts + 1):
            try:
                return self._upload_once(Path(local_path), remote_path)
            except Exception as error:
                if not _is_connection_error(error) or attempt == attempts:
                    raise
                failure = error
            delay = backoff * 2 ** (attempt - 1)
            self.log.warning(
                "upload of %s failed (%s); attempt %d/%d in %.0fs", remote_path, failure, attempt + 1, attempts, delay
            )
            self.sftp.close_conn()
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _upload_once(self, local_path: Path, remote_path: str) -> int:
        directory, name = posixpath.split(remote_path)
        temporary = posixpath.join(directory, f".{name}.{uuid.uuid4().hex}{PART_SUFFIX}")
        with self.sftp.get_managed_conn() as sftp:
            self._remove_leftover_parts(sftp, directory, name)
            try:
                sftp.put(str(local_path), temporary, confirm=True)
                sftp.posix_rename(temporary, remote_path)
            except BaseException:
                try:
                    if _exists(sftp, temporary):
                        sftp.remove(temporary)
                except Exception:  # noqa: BLE001 - the server is gone; the next attempt cleans up
                    pass
                raise
        written = local_path.stat().st_size
        self.log.info("uploaded %s (%d bytes)", remote_path, written)
        return written

    def _remove_leftover_parts(self, sftp, directory: str, name: str) -> None:
        prefix = f".{name}."
        for entry in sftp.listdir_attr(directory):
            if (
                entry.filename.startswith(prefix)
                and entry.filename.endswith(PART_SUFFIX)
                and stat.S_ISREG(entry.st_mode)
            ):
                sftp.remove(posixpath.join(directory, entry.filename))
                self.log.info("removed %s left by an interrupted upload", entry.filename)


def _is_connection_error(error: BaseException) -> bool:
    """The server went away (retry), as opposed to a refusal such as a permission error (fail)."""
    from paramiko.ssh_exception import NoValidConnectionsError, SSHException

    if isinstance(error, (SSHException, NoValidConnectionsError, ConnectionError, EOFError, TimeoutError)):
        return True
    return isinstance(error, OSError) and "Socket is closed" in str(error)


def _exists(sftp, path: str) -> bool:
    try:
        sftp.stat(path)
        return True
    except FileNotFoundError:
        return False
