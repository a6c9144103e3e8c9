"""Text taken from submitters: the characters refused in it, and how a value is quoted in an error.

Refused anywhere: control characters (C0, DEL, C1; a tab is allowed), the Unicode line
and paragraph separators, lone surrogates and the non-characters U+FFFE/U+FFFF. None of
them belongs in a name, URL or title, and each can split or hide a line in a reader
that treats it as a line end (U+2028, NEL, form feed), or break the JSON and XML the
queue's Java workers produce.
"""

from __future__ import annotations

import re

FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
QUOTED_CHARACTERS = 80  # an error quotes at most this much of a value


def first_forbidden(text: str) -> int | None:
    """The 0-based index of the first refused character of ``text``, or None."""
    found = FORBIDDEN_CHARACTER.search(text)
    return found.start() if found else None


def describe_character(character: str) -> str:
    return f"U+{ord(character):04X}"


def shown(value: object) -> str:
    """``repr(value)``, cut to a readable length: errors name a value without carrying all of it."""
    text = repr(value)
    return text if len(text) <= QUOTED_CHARACTERS else f"{text[: QUOTED_CHARACTERS - 1]}…"
