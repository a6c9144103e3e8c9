"""Email addresses and outside text: any input gives a normalised address or InvalidAddress."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.aptrust.inputs import (
    InvalidAddress,
    address_key,
    control_characters,
    email_address,
    shown,
)
from include.aptrust.limits import MAX_ADDRESS_LENGTH

INJECTED = "ann@test.edu\r\nBcc: everyone@evil.example"
# text built from pieces of addresses and of header injections, so Hypothesis finds
# near-misses (and real addresses) rather than only noise
FRAGMENTS = st.sampled_from(
    ["ann", "@", ".", "test", "edu", "\r", "\n", "\r\n", "Bcc: ", ",", " ", "<", ">", '"', "\x00", "\u2028", "ü", "-"]
)
ADDRESS_LIKE = st.one_of(st.text(), st.lists(FRAGMENTS, max_size=12).map("".join))


def test_an_address_comes_back_normalised():
    assert email_address("Ann@Test.EDU") == "Ann@test.edu"
    assert email_address(" carol@test.edu\t") == "carol@test.edu"
    assert address_key(email_address("Ann@Test.EDU")) == address_key(email_address("ann@test.edu"))


@pytest.mark.parametrize(
    "value",
    [INJECTED, "ann", "ann@", "a b@test.edu", "ann@test.edu, bob@test.edu", "Ann <ann@test.edu>", "", None, 42, ["x"]],
)
def test_anything_else_is_the_modules_own_error_naming_it(value):
    with pytest.raises(InvalidAddress) as refused:
        email_address(value)
    assert refused.value.value == value
    assert "\n" not in str(refused.value) and "\r" not in str(refused.value)


def test_an_overlong_address_is_refused_before_parsing():
    with pytest.raises(InvalidAddress, match=f"longer than {MAX_ADDRESS_LENGTH}"):
        email_address("a" * 300 + "@test.edu")


def test_control_characters_are_named_once_each():
    assert control_characters("a\r\nb\r\u2028\x85") == ["U+000A", "U+000D", "U+0085", "U+2028"]
    assert control_characters("plain text, with ü") == []


def test_shown_is_escaped_and_short():
    assert shown("a\r\nb") == "'a\\r\\nb'"
    assert len(shown("x" * 10_000)) <= 80


@given(ADDRESS_LIKE)
def test_any_text_gives_a_safe_normalised_address_or_invalid_address(text):
    try:
        address = email_address(text)
    except InvalidAddress as refused:
        assert "\n" not in str(refused) and "\r" not in str(refused)
        return
    assert control_characters(address) == []
    local_part, _ = address.rsplit("@", 1)
    assert local_part.isascii()  # the mail hook sends without SMTPUTF8
    assert len(address) <= MAX_ADDRESS_LENGTH
    assert email_address(address) == address  # normalising is idempotent
