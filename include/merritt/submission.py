"""A submission (the staging DAG's conf) validated, and the jobs it becomes.

``parse_submission`` checks the conf field by field; ``plan_jobs`` turns it (and its
parsed manifest, for the manifest types) into one ``JobPlan`` per job, and
``JobPlan.nodes`` gives the exact nodes a job is written as. ``validate_submission``
does all of it, fetching a manifest behind a URL once: what it returns is what is staged.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlparse

from include.merritt.checkm import MAX_MANIFEST_BYTES, Manifest, ManifestRow, parse_manifest
from include.merritt.layout import format_timestamp, job_nodes
from include.merritt.priority import MAX_PRIORITY, MIN_PRIORITY, initial_priority
from include.merritt.report import EMAIL_ADDRESS, split_addresses

# type → (manifest kind, payload type of each job); kind None: the payload is the one job.
SUBMISSION_TYPES: dict[str, tuple[str | None, str]] = {
    "batch-manifest": ("manifest-of-manifests", "object-manifest"),
    "single-file-batch-manifest": ("batch", "file"),
    "container-batch-manifest": ("batch", "container"),
    "object-manifest": ("object", "object-manifest"),
    "file": (None, "file"),
    "container": (None, "container"),
}
OPTIONAL_FIELDS = {  # conf key → key in the submission node
    "title": "title",
    "creator": "creator",
    "date": "date",
    "local_id": "localID",
    "note": "note",
    "notification": "notification",
    "response_form": "responseForm",
    "digest_type": "digestType",
    "digest_value": "digestValue",
}
FIELDS = {
    "submission_uuid",
    "submitter",
    "profile",
    "type",
    "payload",
    "priority",
    "update",
    "filename",
    *OPTIONAL_FIELDS,
}
DEFAULT_RESPONSE_TYPE = "xml"
NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class SubmissionError(ValueError):
    """A submission that cannot be staged; the message names the field."""


@dataclass(frozen=True)
class Submission:
    uuid: str
    submitter: str
    profile: str
    type: str
    payload: str
    optional: dict[str, str]
    priority: int | None = None
    update: bool = False
    filename: str = ""

    @property
    def payload_is_url(self) -> bool:
        return is_url(self.payload)

    @property
    def manifest_kind(self) -> str | None:
        return SUBMISSION_TYPES[self.type][0]

    @property
    def job_payload_type(self) -> str:
        return SUBMISSION_TYPES[self.type][1]

    def record(self, at: datetime) -> dict[str, Any]:
        """The JSON of ``/batches/<bid>/submission``."""
        return {
            "batchID": self.uuid,
            "profile": self.profile,
            "type": self.type,
            "submitter": self.submitter,
            "filename": self.filename,
            "submissionDate": format_timestamp(at),
            "update": self.update,
            **{OPTIONAL_FIELDS[key]: value for key, value in self.optional.items()},
        }


def is_url(text: str) -> bool:
    parsed = urlparse(text.strip())
    return "\n" not in text.strip() and parsed.scheme in ("http", "https") and bool(parsed.netloc)


def parse_submission(conf: dict[str, Any], known_profiles: list[str] | set[str]) -> Submission:
    def text(key: str, required: bool = False) -> str:
        value = conf.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise SubmissionError(f"{key}: expected text, got {type(value).__name__}")
        if required and not value.strip():
            raise SubmissionError(f"{key}: required")
        return value if key == "payload" else value.strip()

    unknown = sorted(set(conf) - FIELDS)
    if unknown:
        raise SubmissionError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    uuid = text("submission_uuid", required=True)
    if not NODE_NAME.match(uuid):
        raise SubmissionError(f"submission_uuid: {uuid!r} must be 1-128 letters, digits, '-', '_' or '.'")
    submitter = text("submitter", required=True)
    profile = text("profile", required=True)
    if profile not in known_profiles:
        raise SubmissionError(f"profile: unknown collection profile {profile!r}")
    kind = text("type", required=True)
    if kind not in SUBMISSION_TYPES:
        raise SubmissionError(f"type: {kind!r} is not one of {', '.join(SUBMISSION_TYPES)}")
    payload = text("payload", required=True)
    if SUBMISSION_TYPES[kind][0] in (None, "object") and not is_url(payload):
        raise SubmissionError(f"payload: a {kind} submission needs an http(s) URL the workers can fetch")

    priority = conf.get("priority")
    if priority in ("", None):
        priority = None
    elif isinstance(priority, bool) or not isinstance(priority, int) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise SubmissionError(f"priority: {priority!r} is not an integer from {MIN_PRIORITY} to {MAX_PRIORITY}")
    update = conf.get("update", False)
    if not isinstance(update, bool):
        raise SubmissionError(f"update: expected true or false, got {update!r}")

    optional = {key: text(key) for key in OPTIONAL_FIELDS if text(key)}
    submission = Submission(
        uuid=uuid,
        submitter=submitter,
        profile=profile,
        type=kind,
        payload=payload,
        optional=optional,
        priority=priority,
        update=update,
        filename=text("filename") or (_url_basename(payload) if is_url(payload) else ""),
    )
    for address in split_addresses(optional.get("notification", "")):
        if not EMAIL_ADDRESS.match(address):
            raise SubmissionError(f"notification: {address!r} is not an email address")
    return submission


def _url_basename(url: str) -> str:
    return posixpath.basename(unquote(urlparse(url.strip()).path))


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


def plan_jobs(submission: Submission, manifest: Manifest | None) -> list[JobPlan]:
    """One job for a file/container/object manifest, one per row for the batch manifests."""
    if submission.manifest_kind in (None, "object"):
        priority = initial_priority(1, submission.priority)
        local_ids = _split_local_ids(submission.optional.get("local_id", ""))
        return [
            JobPlan(
                payload_url=submission.payload.strip(),
                payload_type=submission.job_payload_type,
                priority=priority,
                local_ids=local_ids,
                creator=submission.optional.get("creator", ""),
                title=submission.optional.get("title", ""),
                date=submission.optional.get("date", ""),
            )
        ]
    if manifest is None:
        raise SubmissionError(f"type {submission.type}: the manifest is missing")
    priority = initial_priority(len(manifest.rows), submission.priority)
    return [_row_job(row, submission.job_payload_type, priority) for row in manifest.rows]


def _row_job(row: ManifestRow, payload_type: str, priority: int) -> JobPlan:
    return JobPlan(
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


def _split_local_ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


@dataclass(frozen=True)
class ValidatedSubmission:
    submission: Submission
    jobs: list[JobPlan]
    manifest_rows: int  # 0 for the types without a manifest


def validate_submission(
    conf: dict[str, Any],
    known_profiles: list[str] | set[str],
    fetch: Callable[[str, int], bytes] | None = None,
) -> ValidatedSubmission:
    """Every field and every manifest row checked, and the jobs they become.

    A manifest given as a URL is fetched here, once, with ``fetch(url, max_bytes)``
    (without ``fetch``, only inline manifests are accepted); the jobs are planned from
    those very bytes, so they are what was validated.
    """
    submission = parse_submission(conf, known_profiles)
    manifest = None
    if submission.manifest_kind is not None:
        payload = submission.payload
        if submission.payload_is_url:
            if fetch is None:
                raise SubmissionError("payload: a manifest URL, but nothing here fetches URLs")
            payload = fetch(submission.payload.strip(), MAX_MANIFEST_BYTES)
        manifest = parse_manifest(payload, manifest_of_manifests=submission.manifest_kind == "manifest-of-manifests")
    return ValidatedSubmission(submission, plan_jobs(submission, manifest), len(manifest.rows) if manifest else 0)
