"""A job as staging plans it (``JobPlan``), and the exact nodes it is written as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.merritt.checkm import ManifestRow
from include.merritt.layout import job_nodes

DEFAULT_RESPONSE_TYPE = "xml"


@dataclass(frozen=True)
class JobPlan:
    payload_url: str
    payload_type: str
    priority: int
    primary_id: str = ""
    local_ids: tuple[str, ...] = ()
    creator: str = ""
    title: str = ""
    date: str = ""
    filename: str = ""
    digest_type: str = ""
    digest_value: str = ""
    space_needed: int = 0

    @classmethod
    def from_row(cls, row: ManifestRow, payload_type: str, priority: int) -> JobPlan:
        """The job of one batch-manifest row: its payload, metadata, file name and digest come from the row."""
        return cls(
            payload_url=row.file_url,
            payload_type=payload_type,
            priority=priority,
            primary_id=row.primary_identifier,
            local_ids=row.local_identifiers,
            creator=row.creator,
            title=row.title,
            date=row.date,
            filename=row.file_name,
            digest_type=row.hash_algorithm,
            digest_value=row.hash_value,
        )

    def configuration(self, submission_record: dict[str, Any], jid: str) -> dict[str, Any]:
        config = {
            **submission_record,
            "jobID": jid,
            "profile_name": submission_record["profile"],
            "submitter": submission_record["submitter"],
            "payload_url": self.payload_url,
            "payload_type": self.payload_type,
            "response_type": submission_record.get("responseForm") or DEFAULT_RESPONSE_TYPE,
        }
        if self.filename:
            config["filename"] = self.filename
        if self.digest_type:
            config["digestType"], config["digestValue"] = self.digest_type, self.digest_value
        return config

    def nodes(
        self, jid: str, bid: str, submission_record: dict[str, Any], status: dict[str, Any]
    ) -> list[tuple[str, bytes]]:
        """The job's nodes, parent first, with the batch's entry listing it under ``batch-processing``."""
        return job_nodes(
            jid,
            bid,
            priority=self.priority,
            space_needed=self.space_needed,
            configuration=self.configuration(submission_record, jid),
            identifiers={"primary_id": self.primary_id, "local_id": list(self.local_ids)},
            metadata={
                "erc_who": self.creator,
                "erc_what": self.title,
                "erc_when": self.date,
                "erc_where": self.primary_id,
            },
            status=status,
        )
