"""The summary of a finished batch: counts, failed jobs with their messages, the e-mail text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from include.merritt.states import BatchState


def email_address(text: str) -> str | None:
    """``text`` as a normalized e-mail address when it is one (syntax only, no DNS lookup), else None."""
    from email_validator import EmailNotValidError, validate_email  # ~0.2 s to import: not at DAG parse time

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def split_addresses(text: str) -> list[str]:
    return [part for part in re.split(r"[,;\s]+", text or "") if part]


def report_recipients(submission: dict[str, Any]) -> list[str]:
    """Who hears about a batch: its ``notification`` addresses, else the submitter if that is an address."""
    listed = [email_address(address) for address in split_addresses(str(submission.get("notification", "")))]
    submitter = email_address(str(submission.get("submitter", "")))
    return [address for address in listed if address] or ([submitter] if submitter else [])


@dataclass(frozen=True)
class BatchReport:
    bid: str
    submission: dict[str, Any]
    completed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (jid, message)
    deleted: tuple[str, ...] = ()
    processing: tuple[str, ...] = field(default=())

    @property
    def outcome(self) -> BatchState:
        return BatchState.FAILED if self.failed else BatchState.COMPLETED

    def summary(self) -> dict[str, Any]:
        return {
            "bid": self.bid,
            "batch_id": self.submission.get("batchID"),
            "profile": self.submission.get("profile"),
            "outcome": self.outcome.value,
            "jobs": len(self.completed) + len(self.failed) + len(self.deleted) + len(self.processing),
            "completed": len(self.completed),
            "failed": len(self.failed),
            "deleted": len(self.deleted),
            "failed_jobs": [{"jid": jid, "message": message} for jid, message in self.failed],
        }

    def email_subject(self) -> str:
        return (
            f"Merritt batch {self.submission.get('batchID')} {self.outcome.value}: "
            f"{len(self.completed)} completed, {len(self.failed)} failed"
        )

    def email_body(self) -> str:
        submission = self.submission
        lines = [
            f"Batch {self.bid} (submission {submission.get('batchID')}) finished: {self.outcome.value}.",
            f"Collection profile: {submission.get('profile')}",
            f"Submitted by {submission.get('submitter')} on {submission.get('submissionDate')}"
            + (f": {submission['title']}" if submission.get("title") else ""),
            "",
            f"Jobs completed: {len(self.completed)}",
            f"Jobs failed:    {len(self.failed)}",
            f"Jobs deleted:   {len(self.deleted)}",
        ]
        if self.failed:
            lines += ["", "Failed jobs:"] + [f"  {jid}: {message or '(no message)'}" for jid, message in self.failed]
        return "\n".join(lines) + "\n"
