"""Every mail of the pipelines goes through :class:`MailHook`, on the SMTP provider's hook.

The provider's ``SmtpHook.send_email_smtp`` (apache-airflow-providers-smtp 3.2.0) drops
what the server answers about single recipients, and the hook offers no public access
to its connected client. The registry has to know which recipients were refused, so
``send_plain`` sends on the hook's connected client (``_smtp_client``: the one private
attribute used, here only) and returns the refusals.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from airflow.providers.smtp.hooks.smtp import SmtpHook


class EveryRecipientRefused(RuntimeError):
    """The server accepted none of the recipients; ``refused`` maps each to its answer."""

    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = refused
        super().__init__(
            "the SMTP server refused every recipient: " + "; ".join(f"{k} ({v})" for k, v in refused.items())
        )


class MailHook(SmtpHook):
    """Plain-text mail through an SMTP connection (``smtp_default``), refusals reported."""

    def send_plain(
        self, *, recipients: Sequence[str], subject: str, body: str, message_id: str | None = None
    ) -> list[str]:
        """Send one plain-text message to all ``recipients``; returns the refused addresses.

        Raises :class:`EveryRecipientRefused` when none was accepted.
        """
        with self as connected:
            message = EmailMessage()
            message["Message-ID"] = message_id or make_msgid()
            message["Subject"] = subject
            message["From"] = connected.from_email or "airflow@localhost"
            message["To"] = ", ".join(recipients)
            message["Date"] = formatdate(localtime=False)
            message.set_content(body)
            try:
                refused = connected._smtp_client.send_message(message, to_addrs=list(recipients))
            except smtplib.SMTPRecipientsRefused as error:
                raise EveryRecipientRefused(
                    {
                        address: f"{code} {reply.decode(errors='replace')}"
                        for address, (code, reply) in error.recipients.items()
                    }
                ) from error
        if refused:
            self.log.warning("%s: refused recipients %s", message["Message-ID"], sorted(refused))
        return sorted(refused)
