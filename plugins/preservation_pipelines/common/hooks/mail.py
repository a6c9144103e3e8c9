"""Every mail of the pipelines goes through :class:`MailHook`, on the SMTP provider's hook.

The provider's ``SmtpHook.send_email_smtp`` (apache-airflow-providers-smtp 3.2.0) drops
what the server answers about single recipients, and the hook offers no public access
to its connected client. The registry has to know which recipients were refused, so
``send_plain`` sends on the hook's connected client (``_smtp_client``: the one private
attribute used, here only) and returns the refusals.

A message that can never be sent raises :class:`UnsendableMessage`, so a caller can
record it as failed and go on with the others: a header value (recipient, subject,
Message-ID, sender) holding a control character such as CR or LF is refused before
connecting, as is a recipient that is not one email address; a server refusing every
recipient, or needing SMTPUTF8 it does not offer, is refused after. Anything else
(server down, timeouts, temporary refusals) raises as before, for a retry.
"""

from __future__ import annotations

import smtplib
import unicodedata
from collections.abc import Mapping, Sequence
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from airflow.providers.smtp.hooks.smtp import SmtpHook

DEFAULT_SENDER = "airflow@localhost"
# C0/C1 controls (CR, LF, NUL, NEL, ...) and the Unicode line and paragraph separators
_HEADER_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


class UnsendableMessage(ValueError):
    """This message can never be sent as it is; the reason names what is wrong."""


class EveryRecipientRefused(UnsendableMessage, RuntimeError):
    """The server accepted none of the recipients; ``refused`` maps each to its answer."""

    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = refused
        super().__init__(
            "the SMTP server refused every recipient: " + "; ".join(f"{k} ({v})" for k, v in refused.items())
        )


def refuse_unsafe_headers(headers: Mapping[str, str | Sequence[str]]) -> None:
    """Raise :class:`UnsendableMessage` naming each header value that holds a control character
    or is not text, and each recipient (``To``) that is not exactly one email address."""
    problems = []
    for name, values in headers.items():
        for value in [values] if isinstance(values, str) else values:
            if not isinstance(value, str):
                problems.append(f"{name} {value!r:.80} is not text")
            elif breaking := sorted({f"U+{ord(c):04X}" for c in value if _breaks_headers(c)}):
                problems.append(f"{name} {value!r:.80} contains {', '.join(breaking)}")
            elif name == "To" and not _is_one_address(value):
                problems.append(f"To {value!r:.80} is not one email address")
    if problems:
        raise UnsendableMessage("refused before sending: " + "; ".join(problems))


def _breaks_headers(char: str) -> bool:
    return unicodedata.category(char) in _HEADER_BREAKING_CATEGORIES


def _is_one_address(recipient: str) -> bool:
    """Whether the standard library's header parser reads ``recipient`` back as one bare address.

    Syntax only, and no policy on domains: deciding whose address is acceptable (a
    registry user, an operator's ``@localhost`` alias) is the caller's validation.
    """
    try:
        address = Address(addr_spec=recipient)
    except (ValueError, IndexError, HeaderParseError):  # the parser's ways of saying "not an addr-spec"
        return False
    return bool(address.username and address.domain) and address.addr_spec == recipient


class MailHook(SmtpHook):
    """Plain-text mail through an SMTP connection (``smtp_default``), refusals reported."""

    def send_plain(
        self, *, recipients: Sequence[str], subject: str, body: str, message_id: str | None = None
    ) -> list[str]:
        """Send one plain-text message to all ``recipients``; returns the refused addresses.

        Raises :class:`UnsendableMessage` (or its :class:`EveryRecipientRefused`) when the
        message can never be sent.
        """
        message_id = message_id or make_msgid()
        refuse_unsafe_headers({"Message-ID": message_id, "Subject": subject, "To": recipients})
        if not recipients:
            raise UnsendableMessage("refused before sending: no recipients")
        with self as connected:
            sender = connected.from_email or DEFAULT_SENDER
            refuse_unsafe_headers({"From": sender})
            message = EmailMessage()
            message["Message-ID"] = message_id
            message["Subject"] = subject
            message["From"] = sender
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
            except smtplib.SMTPNotSupportedError as error:
                raise UnsendableMessage(f"the SMTP server cannot carry this message: {error}") from error
        if refused:
            self.log.warning("%s: refused recipients %s", message_id, sorted(refused))
        return sorted(refused)
