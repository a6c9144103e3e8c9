"""SFTPFreshFileTrigger on the real sshd through the provider's async hook (host key checked)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

from tests.dags.aspace2alma_support import FOLDER, dropbox  # noqa: F401 - fixture


def _trigger(fresh_after: datetime, cutoff: datetime):
    from preservation_pipelines.aspace2alma.triggers.sftp import SFTPFreshFileTrigger

    return SFTPFreshFileTrigger(
        paths=[f"{FOLDER}/sc_active_barcodes.csv", f"{FOLDER}/sc_active_barcodes_old.csv"],
        fresh_after=fresh_after.isoformat(), cutoff=cutoff.isoformat(), poke_interval=0.5,
    )  # fmt: skip


async def _first_event(trigger):
    async for event in trigger.run():
        return event.payload


def test_serializes_to_its_own_arguments():
    from preservation_pipelines.aspace2alma.triggers.sftp import SFTPFreshFileTrigger

    now = datetime.now(UTC)
    path, kwargs = _trigger(now, now).serialize()
    assert path == "preservation_pipelines.aspace2alma.triggers.sftp.SFTPFreshFileTrigger"
    assert SFTPFreshFileTrigger(**kwargs).serialize() == (path, kwargs)


def test_fires_for_a_file_modified_after_the_instant_and_ignores_older_ones(dropbox):
    now = datetime.now(UTC)
    stale = dropbox / "sc_active_barcodes.csv"
    stale.write_text("Barcode\n1\n")
    yesterday = (now - timedelta(days=1)).timestamp()
    os.utime(stale, (yesterday, yesterday))
    (dropbox / "sc_active_barcodes_old.csv").write_text("Barcode\n1\n")

    event = asyncio.run(_first_event(_trigger(now - timedelta(hours=1), now + timedelta(minutes=5))))

    assert event["status"] == "fresh" and event["path"] == f"{FOLDER}/sc_active_barcodes_old.csv"


def test_gives_up_at_the_cutoff(dropbox):
    now = datetime.now(UTC)
    event = asyncio.run(_first_event(_trigger(now, now + timedelta(seconds=1.5))))
    assert event["status"] == "cutoff"
