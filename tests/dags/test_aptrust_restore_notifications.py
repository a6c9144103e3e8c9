"""aptrust_restore_notifications on the real registry and SMTP sink: digests, refusals, crash points."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.dags.helpers import run_dag, task_states, xcom_return
from tests.include.aptrust.fixtures import (  # noqa: F401 - fixtures
    RecordingTaskInstance,
    failure_notices,
    mailbox,
    registry,
    registry_mail,
    rows,
)

NOW = datetime.now(UTC)
INJECTED = "ann@one.edu\r\nBcc: everyone@evil.example"


def _seed(registry):  # noqa: F811
    """Two institutions: one with admins (one deactivated), one with none."""
    one = registry.institution("one.edu")
    registry.user(one, "admin@one.edu")
    registry.user(one, "former@one.edu", active=False)
    registry.user(one, "reader@one.edu", role="institutional_user")
    bag = registry.intellectual_object(one, "one.edu/bag")
    other_bag = registry.intellectual_object(one, "one.edu/other-bag")
    file_id = rows(registry, "SELECT id FROM generic_files WHERE intellectual_object_id = %(id)s", {"id": other_bag})[
        0
    ]["id"]
    done = {
        "ann": registry.work_item(
            one,
            bag,
            "Restore Object",
            "Success",
            user="ann@one.edu",
            note="Bag restored to s3://aptrust.restore.one.edu/bag.tar",
        ),
        "ann_file": registry.work_item(
            one,
            other_bag,
            "Restore File",
            "Success",
            user="ann@one.edu",
            generic_file_id=file_id,
            note="File restored to s3://aptrust.restore.one.edu/other-bag/data/file-0.txt",
        ),
        "spot": registry.work_item(
            one,
            other_bag,
            "Glacier Restore",
            "Success",
            user="system@aptrust.org",
            note="Automated object restoration spot test restored to s3://aptrust.restore.one.edu/other-bag.tar",
        ),
    }
    registry.work_item(one, bag, "Restore Object", "Failed", user="ann@one.edu")
    registry.work_item(one, bag, "Restore Object", "Started", user="ann@one.edu")
    old = registry.work_item(one, bag, "Restore Object", "Success", user="ann@one.edu")
    registry.connection.execute("UPDATE work_items SET updated_at = now() - interval '30 days' WHERE id = %s", (old,))
    two = registry.institution("two.edu")
    two_bag = registry.intellectual_object(two, "two.edu/bag")
    done["bob"] = registry.work_item(
        two, two_bag, "Restore Object", "Success", user="bob@two.edu", note="restored to s3://r/two.tar"
    )
    return done, old


def _emails(registry):  # noqa: F811
    return rows(registry, "SELECT * FROM emails ORDER BY id")


def test_one_digest_per_institution_to_requesters_and_active_admins_sent_once(airflow_db, registry, mailbox):  # noqa: F811
    done, old = _seed(registry)

    dag_run = run_dag("aptrust_restore_notifications")

    assert str(dag_run.state) == "success", task_states(dag_run)
    messages = sorted(mailbox.messages(), key=lambda m: "two.edu" in m["subject"])
    assert [sorted(m["rcpt_tos"]) for m in messages] == [["admin@one.edu", "ann@one.edu"], ["bob@two.edu"]]
    one = messages[0]["body"]
    assert "one.edu/bag: Restore Object" in one and "fetch it from: s3://aptrust.restore.one.edu/bag.tar" in one
    assert "one.edu/other-bag/data/file-0.txt: Restore File" in one
    assert "one.edu/other-bag [spot test]: Glacier Restore" in one
    emails = _emails(registry)
    assert [e["work_item_ids"] for e in emails] == [
        sorted([done["ann"], done["ann_file"], done["spot"]]),
        [done["bob"]],
    ]
    assert all(e["sent_at"] is not None for e in emails)
    assert [e["message_id"] for e in emails] == [m["message"]["Message-ID"] for m in messages]
    notified = rows(
        registry, "SELECT id, notification_email_id FROM work_items WHERE notification_email_id IS NOT NULL"
    )
    assert sorted(row["id"] for row in notified) == sorted(done.values())  # not the failed, started or 30-day-old ones
    assert xcom_return(dag_run, "run_summary")["emails"]["sent"] == [e["id"] for e in emails]

    again = run_dag("aptrust_restore_notifications")
    assert str(again.state) == "success"
    assert len(mailbox.messages()) == 2 and len(_emails(registry)) == 2


def test_a_refused_recipient_is_recorded_and_the_others_still_get_the_digest(registry, mailbox):  # noqa: F811
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator, SendStoredEmailsOperator

    _seed(registry)
    (mailbox.maildir / "refused_recipients").write_text("admin@one.edu\nbob@two.edu\n")

    RecordRestoreDigestsOperator(task_id="record").execute({})
    ti = RecordingTaskInstance()
    summary = SendStoredEmailsOperator(task_id="send", email_type="restore_digest").execute({"ti": ti})

    emails = _emails(registry)
    assert summary["sent"] == [emails[0]["id"]] and list(summary["failed"]) == [emails[1]["id"]]
    [problem] = ti.pushed["problems"]  # named for the run summary
    assert problem.startswith(f"email {emails[1]['id']}: the SMTP server refused every recipient")
    assert emails[0]["refused_recipients"] == ["admin@one.edu"] and emails[0]["sent_at"] is not None
    assert emails[1]["sent_at"] is None and "bob@two.edu" in emails[1]["error"]
    assert [m["rcpt_tos"] for m in mailbox.messages()] == [["ann@one.edu"]]
    # a refused digest is not retried for ever: the next run leaves it alone
    assert SendStoredEmailsOperator(task_id="send", email_type="restore_digest").execute({})["sent"] == []


def test_crash_before_the_record_commits_records_and_sends_nothing(registry, mailbox):  # noqa: F811
    import include.aptrust.mail as mail
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator

    _seed(registry)
    restore_digests = mail.restore_digests

    def crash(items, admins):
        yield from restore_digests(items, admins)[:1]
        raise RuntimeError("worker killed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mail, "restore_digests", crash)
        with pytest.raises(RuntimeError):
            RecordRestoreDigestsOperator(task_id="record").execute({})

    assert _emails(registry) == []
    assert rows(registry, "SELECT count(*) AS n FROM work_items WHERE notification_email_id IS NOT NULL")[0]["n"] == 0
    assert len(RecordRestoreDigestsOperator(task_id="record").execute({})) == 2


def test_crash_after_recording_before_sending_is_sent_by_the_retry(registry, mailbox):  # noqa: F811
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator, SendStoredEmailsOperator

    _seed(registry)
    RecordRestoreDigestsOperator(task_id="record").execute({})  # then the worker dies
    assert RecordRestoreDigestsOperator(task_id="record").execute({}) == []  # nothing recorded twice

    SendStoredEmailsOperator(task_id="send", email_type="restore_digest").execute({})
    assert len(mailbox.messages()) == 2


def test_crash_after_sending_before_marking_sent_keeps_the_record_and_resends_with_the_same_message_id(
    registry,
    mailbox,  # noqa: F811
):
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator, SendStoredEmailsOperator

    done, _ = _seed(registry)
    RecordRestoreDigestsOperator(task_id="record").execute({})

    def crash(self, email_id, refused):
        raise ConnectionError("database gone after the SMTP server accepted")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AptrustRegistryHook, "mark_email_sent", crash)
        with pytest.raises(ConnectionError):
            SendStoredEmailsOperator(task_id="send", email_type="restore_digest").execute({})

    # what was sent is on record, and its items are not notified again
    [first, second] = _emails(registry)
    assert first["work_item_ids"] == sorted([done["ann"], done["ann_file"], done["spot"]])
    assert first["sent_at"] is None
    sent = [m["message"]["Message-ID"] for m in mailbox.messages()]
    assert sent == [first["message_id"]]

    SendStoredEmailsOperator(task_id="send", email_type="restore_digest").execute({})
    resent = [m["message"]["Message-ID"] for m in mailbox.messages()]
    assert resent == [first["message_id"], first["message_id"], second["message_id"]]  # at-least-once, same id
    assert all(e["sent_at"] is not None for e in _emails(registry))


def _store_hostile_digest(registry, recipients):  # noqa: F811
    """A digest row as an older version (or a hostile registry row) left it: unsendable as it is."""
    one = rows(registry, "SELECT id FROM institutions WHERE identifier = 'one.edu'")[0]["id"]
    return registry.connection.execute(
        "INSERT INTO emails (email_type, institution_id, message_id, recipients, subject, body) "
        "VALUES ('restore_digest', %(inst)s, '<hostile.1@registry.aptrust.org>', %(recipients)s, 'Digest', 'x') "
        "RETURNING id",
        {"inst": one, "recipients": recipients},
    ).fetchone()[0]


def test_a_digest_with_an_injected_header_is_marked_failed_while_the_others_are_sent(airflow_db, registry, mailbox):  # noqa: F811
    _seed(registry)
    hostile = _store_hostile_digest(registry, [INJECTED, "admin@one.edu"])

    dag_run = run_dag("aptrust_restore_notifications")

    states = task_states(dag_run)
    assert states["send_digests"] == "success" and states["run_summary"] == "failed"  # named, no retry
    emails = {e["id"]: e for e in _emails(registry)}
    assert emails[hostile]["sent_at"] is None and "U+000A" in emails[hostile]["error"]
    assert all(e["sent_at"] is not None for e in emails.values() if e["id"] != hostile)
    messages = registry_mail(mailbox.messages())
    assert failure_notices(mailbox.messages()) == ["run_summary"]  # the named problem reached the operators
    assert len(messages) == 2 and all("evil.example" not in str(m["rcpt_tos"]) for m in messages)
    assert all("Bcc" not in m["message"] for m in messages)

    # the next hourly run is not blocked by it, nor does it try it again
    registry.work_item(1, None, "Restore File", "Success", user="ann@one.edu", note="restored to s3://r/f")
    again = run_dag("aptrust_restore_notifications")
    assert str(again.state) == "success", task_states(again)
    assert len(registry_mail(mailbox.messages())) == 3


def test_a_requester_whose_address_is_not_one_is_left_out_and_named(registry, mailbox):  # noqa: F811
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator, SendStoredEmailsOperator

    _seed(registry)
    registry.connection.execute('UPDATE work_items SET "user" = %s WHERE "user" = %s', (INJECTED, "ann@one.edu"))

    ti = RecordingTaskInstance()
    RecordRestoreDigestsOperator(task_id="record").execute({"ti": ti})
    SendStoredEmailsOperator(task_id="send", email_type="restore_digest").execute({})

    [first, _] = _emails(registry)
    assert first["recipients"] == ["admin@one.edu"] and first["sent_at"] is not None
    [problem] = ti.pushed["problems"]
    assert f"email {first['id']}" in problem and "is not an email address" in problem and "\r\n" not in problem
    assert sorted(m["rcpt_tos"][0] for m in mailbox.messages()) == ["admin@one.edu", "bob@two.edu"]
