"""aptrust_restore_notifications on the real registry and SMTP sink: digests as ``Restoration Completed``
alerts, recipients as registry users, refusals and the outbox's crash points."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.dags.helpers import run_dag, task_states, xcom_return
from tests.include.aptrust.fixtures import (  # noqa: F401 - fixtures
    RecordingTaskInstance,
    mailbox,
    registry,
    registry_mail,
    rows,
)

DAG_ID = "aptrust_restore_notifications"


def _context(run_id="manual__digest"):
    return {"dag": SimpleNamespace(dag_id=DAG_ID), "run_id": run_id, "ti": RecordingTaskInstance()}


def _seed(registry):  # noqa: F811
    """one.edu: an admin (and a deactivated one), requester ann a registry user; two.edu: no admin, and
    requester bob no registry user; three.edu: only a spot test."""
    one = registry.institution("one.edu")
    users = {
        "admin": registry.user(one, "admin@one.edu"),
        "ann": registry.user(one, "ann@one.edu", role="institutional_user"),
    }
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
            user="Ann@One.edu",
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
    three = registry.institution("three.edu")
    users["three_admin"] = registry.user(three, "admin@three.edu")
    three_bag = registry.intellectual_object(three, "three.edu/bag")
    done["three_spot"] = registry.work_item(
        three, three_bag, "Restore Object", "Success", user="system@aptrust.org", note="restored to s3://r/3.tar"
    )
    return done, users


def _digests(registry):  # noqa: F811
    """The Restoration Completed alerts with their institution, recipients (user ids), sent marks and links."""
    return rows(
        registry,
        "SELECT a.id, a.subject, a.content, i.identifier AS institution, d.dag_id, "
        "ARRAY(SELECT au.user_id FROM alerts_users au WHERE au.alert_id = a.id ORDER BY 1) AS user_ids, "
        "ARRAY(SELECT au.user_id FROM alerts_users au WHERE au.alert_id = a.id AND au.sent_at IS NOT NULL "
        "      ORDER BY 1) AS sent_to, "
        "ARRAY(SELECT l.work_item_id FROM alerts_work_items l WHERE l.alert_id = a.id ORDER BY 1) AS work_item_ids "
        "FROM alerts a JOIN institutions i ON i.id = a.institution_id LEFT JOIN dag_alerts d ON d.alert_id = a.id "
        "WHERE a.type = 'Restoration Completed' ORDER BY a.id",
    )


def _record(context=None):
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator

    return RecordRestoreDigestsOperator(task_id="record").execute(context or _context())


def _send(context=None):
    from preservation_pipelines.aptrust.operators.alerts import SendAlertsOperator

    return SendAlertsOperator(task_id="send", scope="dag").execute(context or _context())


def test_one_alert_per_institution_to_registry_user_requesters_and_active_admins_sent_once(
    airflow_db, registry, mailbox
):  # noqa: F811
    done, users = _seed(registry)

    dag_run = run_dag(DAG_ID)

    assert str(dag_run.state) == "success", task_states(dag_run)
    one, two, three = _digests(registry)
    assert [d["institution"] for d in (one, two, three)] == ["one.edu", "two.edu", "three.edu"]
    assert one["work_item_ids"] == sorted([done["ann"], done["ann_file"], done["spot"]])
    assert two["work_item_ids"] == [done["bob"]] and three["work_item_ids"] == [done["three_spot"]]
    assert one["user_ids"] == one["sent_to"] == sorted([users["admin"], users["ann"]])
    assert two["user_ids"] == []  # bob is no registry user and two.edu has no admin: recorded for no one
    assert three["user_ids"] == [users["three_admin"]]
    assert (one["subject"], three["subject"]) == ("Restoration Completed", "Restoration Spot Test Completed")
    assert "one.edu/bag: Restore Object" in one["content"]
    assert "fetch it from: s3://aptrust.restore.one.edu/bag.tar" in one["content"]
    assert "one.edu/other-bag/data/file-0.txt: Restore File" in one["content"]
    assert "one.edu/other-bag [spot test]: Glacier Restore" in one["content"]
    assert {d["dag_id"] for d in (one, two, three)} == {DAG_ID}
    messages = registry_mail(mailbox.messages())
    assert sorted((m["rcpt_tos"][0], m["subject"]) for m in messages) == [
        ("admin@one.edu", "Restoration Completed"),
        ("admin@three.edu", "Restoration Spot Test Completed"),
        ("ann@one.edu", "Restoration Completed"),
    ]
    assert all("[spot test]: Glacier Restore" in m["body"] for m in messages if "one.edu" in m["rcpt_tos"][0])
    ids = {m["message"]["Message-ID"] for m in messages}
    assert f"<aptrust-alert-{one['id']}-{users['ann']}@registry.aptrust.org>" in ids
    summary = xcom_return(dag_run, "run_summary")
    assert summary["digests"]["requesters_without_registry_user"] == [f"'bob@two.edu' (WorkItem {done['bob']})"]
    assert summary["mail"] == {"sent": 3, "delivery_errors": {}}

    again = run_dag(DAG_ID)
    assert str(again.state) == "success"
    assert len(registry_mail(mailbox.messages())) == 3 and len(_digests(registry)) == 3


def test_an_item_the_registry_already_alerted_of_counts_as_notified(registry, mailbox):  # noqa: F811
    done, users = _seed(registry)
    registry_alert = registry.connection.execute(
        "INSERT INTO alerts (institution_id, type, subject, content) "
        "SELECT institution_id, 'Restoration Completed', 'Restoration Completed', 'registry text' "
        "FROM work_items WHERE id = %s RETURNING id",
        (done["ann"],),
    ).fetchone()[0]
    registry.connection.execute("INSERT INTO alerts_work_items VALUES (%s, %s)", (registry_alert, done["ann"]))
    stalled = registry.connection.execute(  # another type's link does not count
        "INSERT INTO alerts (institution_id, type, subject, content) "
        "SELECT institution_id, 'Stalled Work Items', 'Stalled Work Items', 'x' FROM work_items WHERE id = %s "
        "RETURNING id",
        (done["ann_file"],),
    ).fetchone()[0]
    registry.connection.execute("INSERT INTO alerts_work_items VALUES (%s, %s)", (stalled, done["ann_file"]))

    _record()

    one = next(d for d in _digests(registry) if d["institution"] == "one.edu" and d["dag_id"] == DAG_ID)
    assert one["work_item_ids"] == sorted([done["ann_file"], done["spot"]])
    _send()
    assert all("registry text" not in m["body"] for m in mailbox.messages())  # the registry's own is not ours


def test_a_refused_recipient_is_recorded_not_retried_and_named_while_the_others_get_theirs(registry, mailbox):  # noqa: F811
    _, users = _seed(registry)
    (mailbox.maildir / "refused_recipients").write_text("admin@one.edu\n")
    _record()

    context = _context()
    summary = _send(context)

    assert summary["sent"] == 2
    [(name, error)] = summary["delivery_errors"].items()
    assert name.endswith(f"to user {users['admin']}") and "admin@one.edu" in error
    [problem] = context["ti"].pushed["problems"]  # named for the run summary
    assert problem.startswith(name)
    assert rows(registry, "SELECT user_id FROM dag_alert_delivery_errors") == [{"user_id": users["admin"]}]
    assert sorted(m["rcpt_tos"][0] for m in mailbox.messages()) == ["admin@three.edu", "ann@one.edu"]
    (mailbox.maildir / "refused_recipients").unlink()
    assert _send() == {"sent": 0, "delivery_errors": {}}  # not retried


def test_crash_before_the_record_commits_records_and_sends_nothing(registry, mailbox):  # noqa: F811
    import include.aptrust.alerts_sql as sql

    _seed(registry)
    with pytest.MonkeyPatch.context() as patch:  # the first alert, its users and links written, then a crash
        patch.setattr(sql, "INSERT_DAG_ALERT", "SELECT 1 / 0")
        with pytest.raises(Exception, match="division by zero"):
            _record()

    for table in ("alerts", "alerts_users", "alerts_work_items", "dag_alerts"):
        assert rows(registry, f"SELECT count(*) AS n FROM {table}")[0]["n"] == 0, table
    assert _send()["sent"] == 0 and mailbox.messages() == []
    assert len(_record()["alerts"]) == 3


def test_crash_after_recording_before_sending_is_sent_by_the_retry(registry, mailbox):  # noqa: F811
    _seed(registry)
    _record()  # then the worker dies
    assert _record()["alerts"] == {}  # nothing recorded twice

    assert _send()["sent"] == 3
    assert len(mailbox.messages()) == 3


def test_crash_after_the_server_accepted_before_sent_at_resends_with_the_same_message_id(registry, mailbox):  # noqa: F811
    import include.aptrust.alerts_sql as sql

    _seed(registry)
    _record()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sql, "MARK_ALERT_SENT", "SELECT 1 / 0")  # the database gone after the acceptance
        with pytest.raises(Exception, match="division by zero"):
            _send()
    [first] = [m["message"]["Message-ID"] for m in mailbox.messages()]
    assert rows(registry, "SELECT count(*) AS n FROM alerts_users WHERE sent_at IS NOT NULL")[0]["n"] == 0

    assert _send()["sent"] == 3
    ids = [m["message"]["Message-ID"] for m in mailbox.messages()]
    assert ids.count(first) == 2 and len(set(ids)) == 3  # at-least-once, with the same Message-ID
    assert rows(registry, "SELECT count(*) AS n FROM alerts_users WHERE sent_at IS NULL")[0]["n"] == 0


def test_only_this_dags_alerts_are_sent_by_its_send_task(registry, mailbox):  # noqa: F811
    _, users = _seed(registry)
    _record(_context())
    _record({**_context(), "dag": SimpleNamespace(dag_id="aptrust_alerts")})  # nothing left: a no-op
    other = registry.connection.execute(
        "INSERT INTO alerts (institution_id, type, subject, content) "
        "SELECT institution_id, 'Stalled Work Items', 'other DAG', 'x' FROM users WHERE id = %s RETURNING id",
        (users["admin"],),
    ).fetchone()[0]
    registry.connection.execute("INSERT INTO alerts_users (alert_id, user_id) VALUES (%s, %s)", (other, users["admin"]))
    registry.connection.execute(
        "INSERT INTO dag_alerts (alert_id, dag_id, dag_run_id, type, audience) "
        "VALUES (%s, 'aptrust_alerts', 'x', 'Stalled Work Items', 'institution')",
        (other,),
    )

    assert _send()["sent"] == 3
    assert all(m["subject"] != "other DAG" for m in mailbox.messages())
