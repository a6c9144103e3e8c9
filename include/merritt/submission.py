"""A submission (the staging DAG's conf) validated, and the jobs it becomes.

``parse_submission`` checks the conf field by field (text without control characters,
URLs by ``include/merritt/urls.py``, file names without paths); ``plan_jobs`` turns it
(and its parsed manifest, for the manifest types) into one ``JobPlan`` per job
(``include/merritt/jobs.py``). ``validate_submission`` does all of it, fetching a
manifest behind a URL once, and measures every transaction against ZooKeeper's
limits: what it returns is what is staged, and it can be staged.
"""

from __future__ import annotations

import posixpath
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from include.merritt.checkm import (
    ARK,
    MAX_MANIFEST_BYTES,
    Manifest,
    ManifestError,
    ManifestRow,
    file_name_problem,
    parse_manifest,
    split_local_ids,
)
from include.merritt.jobs import JobPlan
from include.merritt.layout import format_timestamp
from include.merritt.limits import find_oversize, largest_cell
from include.merritt.priority import MAX_PRIORITY, MIN_PRIORITY, initial_priority
from include.merritt.report import email_address, split_addresses
from include.merritt.text import describe_character, first_forbidden, shown
from include.merritt.urls import UrlError, looks_like_url, parse_http_url

# type as submitted → the name Merritt stores in ZooKeeper; the stored names are accepted as input too
SUBMISSION_TYPES: dict[str, str] = {
    "file": "file",
    "container": "container",
    "object-manifest": "manifest",
    "single-file-batch-manifest": "batchManifestFile",
    "container-batch-manifest": "batchManifestContainer",
    "batch-manifest": "batchManifest",
}
ACCEPTED_TYPES = tuple(dict.fromkeys([*SUBMISSION_TYPES, *SUBMISSION_TYPES.values()]))
SINGLE_JOB_TYPES = ("file", "container", "manifest")  # stored names; the payload is the one job
BATCH_ROW_TYPES = {  # a batch manifest's stored type → the type of each row's job
    "batchManifest": "manifest",
    "batchManifestContainer": "container",
    "batchManifestFile": "file",
}
BATCH_MANIFEST_PROFILES = {  # the last segment of a batch manifest's #%profile → the type of each row's job
    "mrt-batch-manifest": "manifest",
    "mrt-container-batch-manifest": "container",
    "mrt-single-file-batch-manifest": "file",
}
OPTIONAL_FIELDS = {  # conf key → key in the submission node
    "title": "title",
    "creator": "creator",
    "date": "date",
    "object_id": "objectID",
    "local_id": "localID",
    "note": "note",
    "notification": "notification",
    "response_form": "responseForm",
    "digest_type": "digestType",
    "digest_value": "digestValue",
}
FIELDS = {  # conf key → key in the submission node
    "title": "title",
    "creator": "creator",
    "date": "date",
    "object_id": "objectID",
    "local_id": "localID",
    "note": "note",
    "notification": "notification",
    "response_form": "responseForm",
    "digest_type": "digestType",
    "digest_value": "digestValue",
}
BATCH_KEYS_OF_A_JOB = (  # the submission's keys every job's configuration carries
    "batchID",
    "profile",
    "submitter",
    "submissionDate",
    "responseForm",
    "notification",
    "notificationFormat",
    "update",
)
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
NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")  # ids used as node names (match with fullmatch)
DEFAULT_NOTIFICATION_FORMAT = "xml"
BATCH_ID_NAMESPACE = uuid.UUID("0b8f3c2e-1d44-4f0e-9a51-6d6572726974")


def batch_id_of(submission_uuid: str) -> str:
    """The batch's ``batchID`` (``bid-<uuid>``): the submission uuid itself when it is a UUID (with or without
    ``bid-``), else a UUID derived from it, so every try of one submission gets the same batchID."""
    try:
        return f"bid-{uuid.UUID(submission_uuid.removeprefix('bid-'))}"
    except ValueError:
        return f"bid-{uuid.uuid5(BATCH_ID_NAMESPACE, submission_uuid)}"


def job_id_of(batch_id: str, index: int) -> str:
    """The ``jobID`` (``jid-<uuid>``) of the batch's ``index``-th job: the same on every try, so a retry never
    changes a job's payload directory."""
    return f"jid-{uuid.uuid5(uuid.UUID(batch_id.removeprefix('bid-')), str(index))}"


class SubmissionError(ValueError):
    """A submission that cannot be staged; the message names the field."""


@dataclass(frozen=True)
class Submission:
    uuid: str  # the idempotency key as submitted
    submitter: str
    profile: str
    type: str  # the stored name
    payload: str
    optional: dict[str, str]
    priority: int | None = None
    update: bool = False
    filename: str = ""

    @property
    def batch_id(self) -> str:
        return batch_id_of(self.uuid)

    @property
    def payload_is_url(self) -> bool:
        return looks_like_url(self.payload)

    @property
    def is_batch_manifest(self) -> bool:
        return self.type in BATCH_ROW_TYPES

    @property
    def has_manifest(self) -> bool:
        """Whether the payload is a checkm manifest staging reads (a batch manifest, or an object's manifest)."""
        return self.type != "file" and self.type != "container"

    def texts(self) -> dict[str, str]:
        """The submission's text fields by conf key (what a submitter can shorten)."""
        return {
            "submission_uuid": self.uuid,
            "submitter": self.submitter,
            "payload": self.payload if self.payload_is_url else "",
            "filename": self.filename,
            **self.optional,
        }

    def record(self, at: datetime) -> dict[str, Any]:
        """The JSON of ``/batches/<bid>/submission``."""
        return {
            "batchID": self.batch_id,
            "profile": self.profile,
            "type": self.type,
            "submitter": self.submitter,
            "filename": self.filename,
            "submissionDate": format_timestamp(at),
            "update": self.update,
            "notificationFormat": DEFAULT_NOTIFICATION_FORMAT,
            **{OPTIONAL_FIELDS[key]: value for key, value in self.optional.items()},
        }


def parse_submission(conf: dict[str, Any], known_profiles: list[str] | set[str]) -> Submission:
    if not isinstance(conf, dict):
        raise SubmissionError(f"the submission must be a JSON object, not {type(conf).__name__}")

    def text(key: str, required: bool = False) -> str:
        value = conf.get(key)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise SubmissionError(f"{key}: expected text, got {type(value).__name__}")
        if required and not value.strip():
            raise SubmissionError(f"{key}: required")
        if key == "payload":
            return value  # an inline manifest is checked line by line by the checkm parser
        value = value.strip()
        bad = first_forbidden(value)
        if bad is not None:
            raise SubmissionError(f"{key}: control character {describe_character(value[bad])} at position {bad + 1}")
        return value

    unknown = sorted(
        key if isinstance(key, str) and key.isidentifier() else shown(key) for key in conf if key not in FIELDS
    )
    if unknown:
        raise SubmissionError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
    uuid = text("submission_uuid", required=True)
    if not NODE_NAME.fullmatch(uuid):
        raise SubmissionError(f"submission_uuid: {shown(uuid)} must be 1-128 letters, digits, '-', '_' or '.'")
    submitter = text("submitter", required=True)
    profile = text("profile", required=True)
    if profile not in known_profiles:
        raise SubmissionError(f"profile: unknown collection profile {shown(profile)}")
    kind = text("type", required=True)
    if kind not in ACCEPTED_TYPES:
        raise SubmissionError(f"type: {shown(kind)} is not one of {', '.join(ACCEPTED_TYPES)}")
    submitted_type, kind = kind, SUBMISSION_TYPES.get(kind, kind)
    payload = text("payload", required=True)
    payload_url = _payload_url(kind, submitted_type, payload)

    priority = conf.get("priority")
    if priority in ("", None):
        priority = None
    elif isinstance(priority, bool) or not isinstance(priority, int) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise SubmissionError(f"priority: {shown(priority)} is not an integer from {MIN_PRIORITY} to {MAX_PRIORITY}")
    update = conf.get("update", False)
    if not isinstance(update, bool):
        raise SubmissionError(f"update: expected true or false, got {shown(update)}")

    optional = {key: text(key) for key in OPTIONAL_FIELDS if text(key)}
    filename = text("filename") or (posixpath.basename(unquote(urlsplit(payload_url).path)) if payload_url else "")
    problem = file_name_problem(filename) if filename else None
    if problem:
        raise SubmissionError(f"filename: {shown(filename)} {problem}")
    if kind in SINGLE_JOB_TYPES and not filename:
        raise SubmissionError("filename: required: the payload URL names no file to store the payload as")
    object_id = optional.get("object_id", "")
    if object_id and not ARK.fullmatch(object_id):
        raise SubmissionError(f"object_id: {shown(object_id)} is not like ark:/<digits>/<name>")
    for address in split_addresses(optional.get("notification", "")):
        if email_address(address) is None:
            raise SubmissionError(f"notification: {shown(address)} is not an email address")
    return Submission(
        uuid=uuid,
        submitter=submitter,
        profile=profile,
        type=kind,
        payload=payload_url or payload,
        optional=optional,
        priority=priority,
        update=update,
        filename=filename,
    )


def _payload_url(kind: str, submitted_type: str, payload: str) -> str:
    """The payload's URL, stripped; "" for an inline manifest. A payload meant as a URL must be a good one."""
    needs_url = kind in SINGLE_JOB_TYPES
    if not needs_url and not looks_like_url(payload):
        return ""
    url = payload.strip()
    try:
        parse_http_url(url)
    except UrlError as error:
        if needs_url:
            raise SubmissionError(
                f"payload: a {submitted_type} submission needs an http(s) URL the workers can fetch: this one {error}"
            ) from None
        raise SubmissionError(f"payload: the URL {error}") from None
    return url


def row_type(submission: Submission, manifest: Manifest) -> str:
    """The type of each row's job in a batch manifest, decided by its ``#%profile`` as Merritt does; a profile
    that is not a batch manifest's, or names another type than the submission's, is refused."""
    name = manifest.profile.rstrip("/").rsplit("/", 1)[-1]
    if name not in BATCH_MANIFEST_PROFILES:
        raise ManifestError(
            f"#%profile {shown(manifest.profile or '(none)')} is not a batch manifest's "
            f"(one of {', '.join(BATCH_MANIFEST_PROFILES)})",
            manifest.profile_line,
        )
    if BATCH_MANIFEST_PROFILES[name] != BATCH_ROW_TYPES[submission.type]:
        raise ManifestError(
            f"#%profile {name} lists {BATCH_MANIFEST_PROFILES[name]} jobs, but the submission's type "
            f"{submission.type} lists {BATCH_ROW_TYPES[submission.type]} jobs",
            manifest.profile_line,
        )
    return BATCH_MANIFEST_PROFILES[name]


def plan_jobs(submission: Submission, manifest: Manifest | None, payload: bytes | None = None) -> list[JobPlan]:
    """One job for a file/container/object manifest, one per row for the batch manifests.

    ``payload``: an object manifest's bytes, fetched once and validated; they become its job's payload file.
    """
    batch_id = submission.batch_id
    if not submission.is_batch_manifest:
        optional = submission.optional
        return [
            JobPlan(
                job_id=job_id_of(batch_id, 0),
                type=submission.type,
                payload_url=submission.payload,
                payload=payload,
                priority=initial_priority(1, submission.priority),
                primary_id=optional.get("object_id", ""),
                local_ids=split_local_ids(optional.get("local_id", "")),
                creator=optional.get("creator", ""),
                title=optional.get("title", ""),
                date=optional.get("date", ""),
                note=optional.get("note", ""),
                filename=submission.filename,
                digest_type=optional.get("digest_type", ""),
                digest_value=optional.get("digest_value", ""),
            )
        ]
    if manifest is None:
        raise SubmissionError(f"type {submission.type}: the manifest is missing")
    kind = row_type(submission, manifest)
    priority = initial_priority(len(manifest.rows), submission.priority)
    return [
        JobPlan.from_row(row, job_id_of(batch_id, index), kind, priority) for index, row in enumerate(manifest.rows)
    ]


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
    those very bytes, so they are what was validated. Last, every transaction staging
    will make is measured against ZooKeeper's limits (``include/merritt/limits.py``).
    """
    submission = parse_submission(conf, known_profiles)
    manifest, fetched = None, None
    if submission.has_manifest:
        payload: str | bytes = submission.payload
        if submission.payload_is_url:
            if fetch is None:
                raise SubmissionError("payload: a manifest URL, but nothing here fetches URLs")
            payload = fetched = fetch(submission.payload, MAX_MANIFEST_BYTES)
        manifest = parse_manifest(payload, manifest_of_manifests=submission.type == "batchManifest")
    jobs = plan_jobs(submission, manifest if submission.is_batch_manifest else None, fetched)
    _check_sizes(submission, jobs, manifest.rows if manifest else ())
    return ValidatedSubmission(submission, jobs, len(manifest.rows) if submission.is_batch_manifest else 0)


def _check_sizes(submission: Submission, jobs: list[JobPlan], rows: tuple[ManifestRow, ...]) -> None:
    """Refuse a plan with a transaction ZooKeeper would refuse, naming the field or the cell to shorten."""
    oversize = find_oversize(submission, jobs)
    if oversize is None:
        return
    sizes = {key: len(value.encode("utf-8")) for key, value in submission.texts().items()}
    field = max(sizes, key=sizes.__getitem__)
    too_big = f"{oversize.size:,} bytes in one ZooKeeper transaction, over the {oversize.limit:,}-byte limit"
    if oversize.job_index is not None and oversize.job_index < len(rows):
        row = rows[oversize.job_index]
        cell, column = largest_cell(row)
        if len(row.cells[cell].encode("utf-8")) >= sizes[field]:
            raise ManifestError(f"this row's job is {too_big}: shorten its {cell}", row.line, column)
    raise SubmissionError(f"{field}: {oversize.what} of this submission is {too_big}: shorten {field}")
