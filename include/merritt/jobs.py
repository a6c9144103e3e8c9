"""A job as staging plans it (``JobPlan``), and the exact nodes it is written as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.merritt.checkm import ManifestRow
from include.merritt.layout import job_nodes

BATCH_KEYS_OF_A_JOB = (  # the submission's keys every job's configuration carries, as Merritt's workers read them
    "batchID",
    "profile",
    "submitter",
    "submissionDate",
    "responseForm",
    "notification",
    "notificationFormat",
    "retainTargetURL",
    "DataCiteResourceType",
    "update",
)


@dataclass(frozen=True)
class JobPlan:
    """One job: ``type`` is the job's own (``file``, ``container`` or ``manifest``); its payload file, named
    ``filename``, is what ``payload_url`` answers, or ``payload`` when staging already holds those bytes."""

    job_id: str
    type: str
    payload_url: str
    priority: int
    filename: str
    payload: bytes | None = None
    primary_id: str = ""
    local_ids: tuple[str, ...] = ()
    creator: str = ""
    title: str = ""
    date: str = ""
    note: str = ""
    digest_type: str = ""
    digest_value: str = ""
    space_needed: int = 0

    @classmethod
    def from_row(cls, row: ManifestRow, job_id: str, job_type: str, priority: int) -> JobPlan:
        """The job of one batch-manifest row: its payload, metadata, file name and digest come from the row."""
        return cls(
            job_id=job_id,
            type=job_type,
            payload_url=row.file_url,
            priority=priority,
            filename=row.file_name,
            primary_id=row.primary_identifier,
            local_ids=row.local_identifiers,
            creator=row.creator,
            title=row.title,
            date=row.date,
            digest_type=row.hash_algorithm,
            digest_value=row.hash_value,
        )

    def configuration(self, submission_record: dict[str, Any]) -> dict[str, Any]:
        """``/jobs/<jid>/configuration``: the batch's keys (``DC*`` included), then the job's own; every value
        a string but ``update``. ``payload_url`` is an extra Merritt's workers do not read."""
        config = {
            key: value for key, value in submission_record.items() if key in BATCH_KEYS_OF_A_JOB or key.startswith("DC")
        }
        config.update(jobID=self.job_id, type=self.type, filename=self.filename, payload_url=self.payload_url)
        own = {
            "digestType": self.digest_type,
            "digestValue": self.digest_value,
            "title": self.title,
            "creator": self.creator,
            "date": self.date,
            "note": self.note,
            "objectID": self.primary_id,
            "localID": ";".join(self.local_ids),
        }
        config.update((key, value) for key, value in own.items() if value)
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
            configuration=self.configuration(submission_record),
            identifiers={"primary_id": self.primary_id, "local_id": list(self.local_ids)},
            metadata={
                "erc_who": self.creator,
                "erc_what": self.title,
                "erc_when": self.date,
                "erc_where": self.primary_id,
            },
            status=status,
        )
