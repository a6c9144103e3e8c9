"""The mail hook on the real SMTP sink: one message, refused recipients reported, total refusal
raised, and header values that could inject headers refused before connecting."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.include.aptrust.fixtures import mailbox  # noqa: F401 - fixture

INJECTIONS = ["\r\nBcc: everyone@evil.example", "\nBcc: x@evil.example", "\r", "\x00", "\u2028", "\x85"]


def _send(**overrides):
    from preservation_pipelines.common.hooks.mail import MailHook

    message = {
        "message_id": "<t.1@registry.aptrust.org>",
        "recipients": ["a@test.edu", "b@test.edu"],
        "subject": "Digest",
        "body": "two restores\n",
    }
    return MailHook().send_plain(**{**message, **overrides})


def test_sends_one_message_to_every_recipient(mailbox):  # noqa: F811
    assert _send() == []
    [message] = mailbox.messages()
    assert message["rcpt_tos"] == ["a@test.edu", "b@test.edu"]
    assert message["message"]["Message-ID"] == "<t.1@registry.aptrust.org>"
    assert message["subject"] == "Digest" and message["body"].strip() == "two restores"


def test_a_refused_recipient_is_reported_and_the_others_get_it(mailbox):  # noqa: F811
    (mailbox.maildir / "refused_recipients").write_text("b@test.edu\n")
    assert _send() == ["b@test.edu"]
    assert [m["rcpt_tos"] for m in mailbox.messages()] == [["a@test.edu"]]


def test_every_recipient_refused_raises_naming_them(mailbox):  # noqa: F811
    from preservation_pipelines.common.hooks.mail import EveryRecipientRefused, UnsendableMessage

    (mailbox.maildir / "refused_recipients").write_text("a@test.edu\nb@test.edu\n")
    with pytest.raises(EveryRecipientRefused, match="a@test.edu .*550") as refused:
        _send()
    assert isinstance(refused.value, UnsendableMessage)  # a caller records it and goes on
    assert mailbox.messages() == []


@pytest.fixture
def unreachable_smtp(monkeypatch):
    """A connection id whose server does not exist: a hook that connected would fail differently."""
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_NOWHERE", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": 9}))
    return "smtp_nowhere"


@pytest.mark.parametrize("injection", INJECTIONS)
@pytest.mark.parametrize("field", ["recipients", "subject", "message_id"])
def test_a_header_value_with_a_control_character_is_refused_before_connecting(field, injection, unreachable_smtp):
    from preservation_pipelines.common.hooks.mail import MailHook, UnsendableMessage

    value = {"recipients": ["a@test.edu" + injection], "subject": "Digest" + injection}.get(
        field, "<t.1@x>" + injection
    )
    message = {"message_id": "<t.1@x>", "recipients": ["a@test.edu"], "subject": "Digest", "body": "x\n"}
    with pytest.raises(UnsendableMessage, match="refused before sending: .*U\\+") as refused:
        MailHook(unreachable_smtp).send_plain(**{**message, field: value})
    assert "\n" not in str(refused.value) and "\r" not in str(refused.value)


@pytest.mark.parametrize("recipient", ["ann", "a@test.edu, b@test.edu", "Ann <a@test.edu>", "a b@test.edu", ""])
def test_a_recipient_that_is_not_one_address_is_refused_before_connecting(recipient, unreachable_smtp):
    from preservation_pipelines.common.hooks.mail import MailHook, UnsendableMessage

    with pytest.raises(UnsendableMessage, match="is not one email address"):
        MailHook(unreachable_smtp).send_plain(recipients=["a@test.edu", recipient], subject="s", body="b\n")


def test_no_recipients_is_refused_before_connecting(unreachable_smtp):
    from preservation_pipelines.common.hooks.mail import MailHook, UnsendableMessage

    with pytest.raises(UnsendableMessage, match="no recipients"):
        MailHook(unreachable_smtp).send_plain(recipients=[], subject="s", body="b\n")


HEADER_TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(["a", "@", "test.edu", " ", ",", "<", ">", *INJECTIONS]), max_size=8).map("".join),
)


@settings(max_examples=100)
@given(recipient=HEADER_TEXT, subject=HEADER_TEXT)
def test_what_passes_the_header_check_serialises_to_exactly_the_headers_given(recipient, subject):
    """Any subject and recipient: refused by the hook's own error, or one header line each."""
    from email import message_from_bytes
    from email.message import EmailMessage
    from email.policy import default

    from preservation_pipelines.common.hooks.mail import UnsendableMessage, refuse_unsafe_headers

    try:
        refuse_unsafe_headers({"Subject": subject, "To": [recipient]})
    except UnsendableMessage:
        return
    message = EmailMessage()
    message["Subject"] = subject
    message["To"] = recipient
    message.set_content("body\n")
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert sorted(parsed.keys()) == ["Content-Transfer-Encoding", "Content-Type", "MIME-Version", "Subject", "To"]
    assert [address.addr_spec for address in parsed["To"].addresses] == [recipient]
