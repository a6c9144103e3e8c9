"""Sending the registry's stored emails through the SMTP provider's hook.

SmtpHook.send_email_smtp drops what the server says about single recipients; the
registry has to know which ones were refused, so this hook sends the prepared
message itself on the hook's authenticated client and returns the refusals.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

from airflow.providers.smtp.hooks.smtp import SmtpHook


class EveryRecipientRefused(RuntimeError):
    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = refused
        super().__init__("the SMTP server refused every recipient: " + "; ".join(f"{k} ({v})" for k, v in refused.items()))


class RegistryMailHook(SmtpHook):
    def __init__(self, smtp_conn_id: str = "smtp_default") -> None:
        super().__init__(smtp_conn_id=smtp_conn_id)

    def send_plain(self, *, message_id: str, recipients: Sequence[str], subject: str, body: str) -> list[str]:
        """Send one plain-text message to all ``recipients``; returns the refused addresses.

        Raises EveryRecipientRefused when none was accepted.
        """
        with self as connected:
            message = EmailMessage()
            message["Message-ID"] = message_id
            message["Subject"] = subject
            message["From"] = connected.from_email or "registry@aptrust.org"
            message["To"] = ", ".join(recipients)
            message["Date"] = formatdate(localtime=False)
            message.set_content(body)
            try:
                refused = connected._smtp_client.send_message(message, to_addrs=list(recipients))
            except smtplib.SMTPRecipientsRefused as error:
                raise EveryRecipientRefused(
                    {address: f"{code} {reply.decode(errors='replace')}" for address, (code, reply) in error.recipients.items()}
                ) from error
        if refused:
            self.log.warning("%s: refused recipients %s", message_id, sorted(refused))
        return sorted(refused)
