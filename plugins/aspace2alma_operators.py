"""Operators of the aspace2alma DAGs: each does one step against ASpace or the drop box."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import BaseOperator

# Hooks and parsers are imported inside execute(): the SFTP provider pulls in paramiko
# and asyncssh, which would otherwise cost every DAG parse most of a second.

EASTERN = ZoneInfo("America/New_York")


class SFTPRotateOperator(BaseOperator):
    """Delete ``<folder>/<previous>`` and rename ``<folder>/<current>`` to it, if present."""

    template_fields = ("folder",)

    def __init__(self, *, folder: str, current: str, previous: str, sftp_conn_id: str = "lib_sftp", **kwargs) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.current = current
        self.previous = previous
        self.sftp_conn_id = sftp_conn_id

    def execute(self, context) -> bool:
        from sftp_dropbox import SFTPDropBoxHook

        hook = SFTPDropBoxHook(self.sftp_conn_id)
        return hook.rotate(posixpath.join(self.folder, self.current), posixpath.join(self.folder, self.previous))


class RemoveStaleFileOperator(BaseOperator):
    """Delete ``<folder>/<name>`` if it was written before the run's day began (Eastern).

    The run's day is the Eastern calendar day of the run's logical date, so a
    backfilled or re-run cleanup judges by the day it stands for, never deleting a
    file written on that day.
    """

    template_fields = ("folder",)

    def __init__(self, *, folder: str, name: str, sftp_conn_id: str = "lib_sftp", **kwargs) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.name = name
        self.sftp_conn_id = sftp_conn_id

    def execute(self, context) -> dict[str, Any]:
        from sftp_dropbox import SFTPDropBoxHook

        hook = SFTPDropBoxHook(self.sftp_conn_id)
        path = posixpath.join(self.folder, self.name)
        day = context["logical_date"].astimezone(EASTERN).date()
        day_start = datetime.combine(day, datetime.min.time(), tzinfo=EASTERN)
        modified = hook.modified_at(path)
        if modified is None:
            self.log.info("%s absent: nothing to clean up for %s", path, day)
            return {"day": day.isoformat(), "deleted": False, "reason": "absent"}
        if modified >= day_start:
            self.log.info("%s written %s, on %s itself: left alone", path, modified.astimezone(EASTERN), day)
            return {"day": day.isoformat(), "deleted": False, "reason": "written that day"}
        hook.delete_file(path)
        self.log.info("deleted %s written %s, before %s", path, modified.astimezone(EASTERN), day)
        return {"day": day.isoformat(), "deleted": True, "reason": "written before that day"}


class ArchivesSpaceToAlmaOperator(BaseOperator):
    """Export every resource of every repository as MARC-XML into one uploaded ``<collection>``."""

    template_fields = ("folder",)

    def __init__(
        self,
        *,
        folder: str,
        output_name: str = "MARC_out.xml",
        aspace_conn_id: str = "aspace_default",
        sftp_conn_id: str = "lib_sftp",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.output_name = output_name
        self.aspace_conn_id = aspace_conn_id
        self.sftp_conn_id = sftp_conn_id

    def execute(self, context) -> dict[str, Any]:
        from archivesspace_hook import ArchivesSpaceHook
        from sftp_dropbox import SFTPDropBoxHook

        from include.aspace2alma.marcxml import stream_collection

        summary = {"repositories": 0, "resources_seen": 0, "resources_written": 0, "resources_errored": 0}
        aspace = ArchivesSpaceHook(self.aspace_conn_id)
        dropbox = SFTPDropBoxHook(self.sftp_conn_id)
        records = self._records(aspace, summary)
        summary["bytes_uploaded"] = dropbox.upload_atomically(
            posixpath.join(self.folder, self.output_name), stream_collection(records)
        )
        self.log.info("run summary: %s", summary)
        return summary

    def _records(self, aspace, summary: dict[str, int]) -> Iterator:
        from archivesspace_hook import ArchivesSpaceError

        from include.aspace2alma.marcxml import MarcXmlError, parse_single_record

        for repository in aspace.repositories():
            summary["repositories"] += 1
            for resource_id in aspace.resource_ids(repository["uri"]):
                summary["resources_seen"] += 1
                uri = f"{repository['uri']}/resources/{resource_id}"
                try:
                    record = parse_single_record(aspace.resource_marc_xml(repository["uri"], resource_id), uri)
                except (ArchivesSpaceError, MarcXmlError) as error:
                    self.log.warning("skipped %s: %s", uri, error)
                    summary["resources_errored"] += 1
                    continue
                summary["resources_written"] += 1
                yield record
