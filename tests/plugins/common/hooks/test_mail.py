"""The mail hook on the real SMTP sink: one message, refused recipients reported, total refusal raised."""

from __future__ import annotations

import pytest

from tests.include.aptrust.fixtures import mailbox  # noqa: F401 - fixture


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
    from preservation_pipelines.common.hooks.mail import EveryRecipientRefused

    (mailbox.maildir / "refused_recipients").write_text("a@test.edu\nb@test.edu\n")
    with pytest.raises(EveryRecipientRefused, match="a@test.edu .*550"):
        _send()
    assert mailbox.messages() == []
