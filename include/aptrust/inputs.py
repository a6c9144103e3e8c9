"""Values that come from outside (params, registry rows, Airflow users), checked before use.

An email address is what email-validator accepts as syntax (no DNS lookup: a
registry address is a person, not a mail server we must reach), ASCII before the
``@`` (the common mail hook sends without SMTPUTF8), and is used in its normalised
form: domain lowercased, Unicode normalised. Two addresses name the same person when
their normalised forms are equal case-insensitively (``address_key``).
"""

from __future__ import annotations

import unicodedata

from include.aptrust.limits import MAX_ADDRESS_LENGTH

SHOWN_LENGTH = 80

# Cc: C0/C1 controls (CR, LF, NUL, NEL, ...); Zl/Zp: the Unicode line and paragraph separators.
_LINE_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


class InvalidAddress(ValueError):
    """A value that is not one usable email address; the message names it and says why."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"{shown(value)} is not an email address: {reason}")


def shown(value: object) -> str:
    """``value`` safe to put in a log line or an error: quoted, escaped, and cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_LENGTH else f"{text[: SHOWN_LENGTH - 5]}...{text[-2:]}"


def control_characters(text: str) -> list[str]:
    """The control and line-breaking characters in ``text``, as ``U+000A`` names, each once."""
    found = {char for char in text if unicodedata.category(char) in _LINE_BREAKING_CATEGORIES}
    return [f"U+{ord(char):04X}" for char in sorted(found)]


def email_address(value: object) -> str:
    """The normalised form of one email address; raises :class:`InvalidAddress` for anything else."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str):
        raise InvalidAddress(value, f"a {type(value).__name__}, not text")
    text = value.strip(" \t")
    if not text:
        raise InvalidAddress(value, "empty")
    if len(text) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(value, f"longer than {MAX_ADDRESS_LENGTH} characters")
    try:
        parsed = validate_email(text, check_deliverability=False, globally_deliverable=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidAddress(value, str(error)) from None
    return parsed.normalized


def address_key(address: str) -> str:
    """What identifies the person behind a normalised address: the address, case-insensitively."""
    return address.lower()
