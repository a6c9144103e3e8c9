"""Triggers of the aspace2alma DAGs (run by the triggerer, so serializable and async)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook


class SFTPFreshFileTrigger(BaseTrigger):
    """Fires when one of ``paths`` on the SFTP server was modified at or after ``fresh_after``.

    Built on the SFTP provider's ``SFTPHookAsync`` (asyncssh; host-key checking as the
    connection says: its ``host_key`` extra becomes the known host). Compares the
    server's epoch mtime with an aware instant, so no local-time guesswork. Gives up
    with a ``cutoff`` event at ``cutoff``; a server that is briefly unreachable is
    polled again rather than failing the wait.
    """

    def __init__(
        self,
        *,
        paths: list[str],
        fresh_after: str,
        cutoff: str,
        sftp_conn_id: str = SFTPDropBoxHook.default_conn_name,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.paths = list(paths)
        self.fresh_after = fresh_after
        self.cutoff = cutoff
        self.sftp_conn_id = sftp_conn_id
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "paths": self.paths,
                "fresh_after": self.fresh_after,
                "cutoff": self.cutoff,
                "sftp_conn_id": self.sftp_conn_id,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import asyncssh
        from airflow.providers.sftp.hooks.sftp import SFTPHookAsync

        fresh_after = datetime.fromisoformat(self.fresh_after)
        cutoff = datetime.fromisoformat(self.cutoff)
        hook = SFTPHookAsync(sftp_conn_id=self.sftp_conn_id)
        while True:
            try:
                async with hook.get_managed_conn() as sftp:
                    for path in self.paths:
                        try:
                            attributes = await sftp.stat(path)
                        except asyncssh.SFTPNoSuchFile:
                            continue
                        modified = datetime.fromtimestamp(attributes.mtime, tz=UTC)
                        if modified >= fresh_after:
                            yield TriggerEvent({"status": "fresh", "path": path, "modified": modified.isoformat()})
                            return
            except (OSError, asyncssh.Error) as error:
                self.log.warning("SFTP %s not reachable (%s); polling again", self.sftp_conn_id, error)
            if datetime.now(UTC) >= cutoff:
                yield TriggerEvent(
                    {"status": "cutoff", "paths": self.paths, "fresh_after": self.fresh_after, "cutoff": self.cutoff}
                )
                return
            self.log.info(
                "no file among %s modified since %s yet; next look in %.0fs",
                self.paths,
                self.fresh_after,
                self.poke_interval,
            )
            await asyncio.sleep(self.poke_interval)
