"""The registry's outbox: restore digests recorded with their marks, stored emails sent from there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator


class RecordRestoreDigestsOperator(AptrustBaseOperator):
    """Store one digest email per institution for new successful restores and mark them notified.

    The stored emails and the marks are one transaction (the outbox): what is to be
    sent is never lost and no item is put in two digests. A requester or admin whose
    address is not one is left out of the recipients and named for the run summary.
    """

    def __init__(self, *, lookback: timedelta = timedelta(days=7), **kwargs) -> None:
        super().__init__(**kwargs)
        self.lookback = lookback

    def execute(self, context) -> list[int]:
        from include.aptrust.mail import restore_digests

        not_before = datetime.now(UTC) - self.lookback
        stored = self.registry.record_restore_digests(not_before, restore_digests)
        self.log.info("stored %d digest email(s): %s", len(stored), list(stored))
        self.report_problems(
            context,
            [
                f"email {email_id} (institution {email.institution_id}): recipient left out: {invalid}"
                for email_id, email in stored.items()
                for invalid in email.invalid_recipients
            ],
        )
        return list(stored)


class SendStoredEmailsOperator(AptrustBaseOperator):
    """Send stored emails not sent yet (all of ``email_type``, or the one ``email_id``).

    Each is marked sent once the SMTP server accepted it; recipients the server refused
    are recorded on the row. An email that can never be sent (every recipient refused,
    a header carrying CR/LF, a recipient that is not an address) records the reason on
    the row, is not retried, and is named for the run summary; the others still go. A
    crash between sending and marking sends that email again on the retry, with the
    same Message-ID (at-least-once).
    """

    template_fields = ("email_id",)

    def __init__(self, *, email_type: str | None = None, email_id: int | Any = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if (email_type is None) == (email_id is None):
            raise ValueError("give exactly one of email_type and email_id")
        self.email_type = email_type
        self.email_id = email_id

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.common.hooks.mail import EveryRecipientRefused, UnsendableMessage

        registry = self.registry
        emails = (
            registry.unsent_emails(self.email_type) if self.email_type else registry.unsent_email(int(self.email_id))
        )
        summary: dict[str, Any] = {"sent": [], "refused_recipients": {}, "failed": {}, "no_recipients": []}
        for email in emails:
            if not email["recipients"]:
                registry.mark_email_failed(email["id"], "no recipients", [])
                summary["no_recipients"].append(email["id"])
                continue
            try:
                refused = self.mail.send_plain(
                    message_id=email["message_id"],
                    recipients=email["recipients"],
                    subject=email["subject"],
                    body=email["body"],
                )
            except UnsendableMessage as error:
                refused = sorted(error.refused) if isinstance(error, EveryRecipientRefused) else []
                registry.mark_email_failed(email["id"], str(error), refused)
                summary["failed"][email["id"]] = str(error)
                continue
            registry.mark_email_sent(email["id"], refused)
            summary["sent"].append(email["id"])
            if refused:
                summary["refused_recipients"][email["id"]] = refused
        self.log.info("email summary: %s", summary)
        self.report_problems(context, [f"email {email_id}: {error}" for email_id, error in summary["failed"].items()])
        return summary
