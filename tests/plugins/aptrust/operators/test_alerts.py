"""Registry alerts on the real registry and SMTP sink: what is recorded for whom, never twice; one
message per recipient; refusals and the outbox's crash points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tests.include.aptrust.fixtures import RecordingTaskInstance, mailbox, registry, rows  # noqa: F401 - fixtures

RUN_AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # covers 2026-12-06
DAY = datetime(2026, 12, 6, tzinfo=UTC)


def _context(run_id="scheduled__2026-12-07T12:00:00+00:00", logical_date=RUN_AT):
    return {
        "dag": SimpleNamespace(dag_id="aptrust_alerts"),
        "run_id": run_id,
        "logical_date": logical_date,
        "ti": RecordingTaskInstance(),
    }


def _seed(registry):  # noqa: F811
    """one.edu (an active admin, a deactivated one, a user), two.edu (no admin), aptrust.org (two staff + system)."""
    one = registry.institution("one.edu")
    registry.user(one, "admin@one.edu")
    registry.user(one, "former@one.edu", active=False)
    registry.user(one, "reader@one.edu", role="institutional_user")
    two = registry.institution("two.edu")
    registry.user(two, "reader@two.edu", role="institutional_user")
    aptrust = registry.institution("aptrust.org", spot_restore_frequency=0)
    registry.user(aptrust, "ops@aptrust.org", role="admin")
    registry.user(aptrust, "staff@aptrust.org", role="institutional_user")
    registry.user(aptrust, "system@aptrust.org", role="admin")
    registry.user(aptrust, "gone@aptrust.org", role="admin", active=False)
    objects = {
        "one": registry.intellectual_object(one, "one.edu/bag"),
        "two": registry.intellectual_object(two, "two.edu/bag"),
    }
    return {"one": one, "two": two, "aptrust": aptrust}, objects


def _fixity_events(registry, inst, objects):  # noqa: F811
    at = DAY + timedelta(hours=5)
    return {
        "one_failed": registry.premis_event(inst["one"], objects["one"], date_time=at),
        "one_failure": registry.premis_event(inst["one"], objects["one"], outcome="Failure", date_time=at),  # Pharos
        "two_failed": registry.premis_event(
            inst["two"], objects["two"], date_time=DAY + timedelta(hours=23, minutes=59)
        ),
        # not the day's failed fixity checks:
        "one_passed": registry.premis_event(inst["one"], objects["one"], outcome="Success", date_time=at),
        "one_ingest": registry.premis_event(inst["one"], objects["one"], event_type="ingestion", date_time=at),
        "one_day_before": registry.premis_event(inst["one"], objects["one"], date_time=DAY - timedelta(seconds=1)),
        "one_day_after": registry.premis_event(inst["one"], objects["one"], date_time=DAY + timedelta(days=1)),
    }


def _record_fixity(context=None):
    from preservation_pipelines.aptrust.operators.alerts import RecordFailedFixityAlertsOperator

    return RecordFailedFixityAlertsOperator(task_id="f", registry_url="https://repo.test").execute(
        context or _context()
    )


def _record_stalled(context=None):
    from preservation_pipelines.aptrust.operators.alerts import RecordStalledWorkItemAlertsOperator

    return RecordStalledWorkItemAlertsOperator(task_id="s", registry_url="https://repo.test").execute(
        context or _context()
    )


def _send(context=None):
    from preservation_pipelines.aptrust.operators.alerts import SendAlertsOperator

    return SendAlertsOperator(task_id="send").execute(context or _context())


def _alerts(registry, alert_type=None):  # noqa: F811
    """Each alert with its institution, recipients' emails and linked ids."""
    return rows(
        registry,
        "SELECT a.id, a.type, a.subject, a.content, i.identifier AS institution, d.audience, d.dag_run_id, "
        "ARRAY(SELECT u.email FROM alerts_users au JOIN users u ON u.id = au.user_id WHERE au.alert_id = a.id "
        "      ORDER BY u.email) AS recipients, "
        "ARRAY(SELECT premis_event_id FROM alerts_premis_events WHERE alert_id = a.id ORDER BY 1) AS events, "
        "ARRAY(SELECT work_item_id FROM alerts_work_items WHERE alert_id = a.id ORDER BY 1) AS work_items "
        "FROM alerts a JOIN institutions i ON i.id = a.institution_id LEFT JOIN dag_alerts d ON d.alert_id = a.id "
        "WHERE %(type)s::text IS NULL OR a.type = %(type)s ORDER BY a.id",
        {"type": alert_type},
    )


def _registry_alert(registry, institution_id, alert_type, *, events=(), work_items=(), recipients=(), created_at=None):  # noqa: F811
    """An alert the registry itself wrote (its endpoint), unsent: no dag_alerts row."""
    alert_id = registry.connection.execute(
        "INSERT INTO alerts (institution_id, type, subject, content, created_at) "
        "VALUES (%s, %s, %s, 'registry text', %s) RETURNING id",
        (institution_id, alert_type, alert_type, created_at or datetime.now(UTC)),
    ).fetchone()[0]
    for event in events:
        registry.connection.execute("INSERT INTO alerts_premis_events VALUES (%s, %s)", (alert_id, event))
    for item in work_items:
        registry.connection.execute("INSERT INTO alerts_work_items VALUES (%s, %s)", (alert_id, item))
    for user_id in recipients:
        registry.connection.execute("INSERT INTO alerts_users (alert_id, user_id) VALUES (%s, %s)", (alert_id, user_id))
    return alert_id


def _queued(registry, work_item_id, ago):  # noqa: F811
    registry.connection.execute("UPDATE work_items SET queued_at = now() - %s WHERE id = %s", (ago, work_item_id))


def test_failed_fixity_alerts_per_institution_and_the_aptrust_summary_each_recipient_mailed_once(registry, mailbox):  # noqa: F811
    inst, objects = _seed(registry)
    events = _fixity_events(registry, inst, objects)

    summary = _record_fixity()

    alerts = _alerts(registry)
    assert [(a["institution"], a["audience"], a["events"], a["recipients"]) for a in alerts] == [
        ("one.edu", "institution", sorted([events["one_failed"], events["one_failure"]]), ["admin@one.edu"]),
        ("two.edu", "institution", [events["two_failed"]], []),  # no admins: recorded, for no one
        (
            "aptrust.org",
            "aptrust",
            sorted([events["one_failed"], events["one_failure"], events["two_failed"]]),
            ["ops@aptrust.org", "staff@aptrust.org"],  # every active user but the system account
        ),
    ]
    assert all(a["type"] == a["subject"] == "Failed Fixity Check" for a in alerts)
    assert (
        f"https://repo.test/events?event_type=fixity+check&outcome=Failed&institution_id={inst['one']}"
        "&date_time__gteq=2026-12-06&date_time__lteq=2026-12-07" in alerts[0]["content"]
    )
    assert "institution_id" not in alerts[2]["content"] and "date_time__gteq=2026-12-06" in alerts[2]["content"]
    assert summary["day"] == "2026-12-06" and summary["no_recipients"] == ["two.edu"]
    assert summary["aptrust_summary"] == "recorded" and len(summary["alerts"]) == 3

    sent = _send()

    assert sent == {"sent": 3, "delivery_errors": {}}
    messages = mailbox.messages()
    assert sorted(m["rcpt_tos"][0] for m in messages) == ["admin@one.edu", "ops@aptrust.org", "staff@aptrust.org"]
    assert all(len(m["rcpt_tos"]) == 1 and m["subject"] == "Failed Fixity Check" for m in messages)
    admin = next(m for m in messages if m["rcpt_tos"] == ["admin@one.edu"])
    admin_id = rows(registry, "SELECT id FROM users WHERE email = 'admin@one.edu'")[0]["id"]
    assert admin["message"]["Message-ID"] == f"<aptrust-alert-{alerts[0]['id']}-{admin_id}@registry.aptrust.org>"
    assert admin["body"].splitlines() == alerts[0]["content"].splitlines()
    assert rows(registry, "SELECT count(*) AS n FROM alerts_users WHERE sent_at IS NULL")[0]["n"] == 0

    # a retry, a clear or a second run over the same day: nothing new, nothing sent
    again = _record_fixity()
    assert again["recorded_now"] == 0 and list(again["alerts"]) == [a["id"] for a in alerts]  # the run's alerts
    assert _record_fixity(_context(run_id="backfill__2026-12-07"))["alerts"] == {}
    assert _send()["sent"] == 0 and len(mailbox.messages()) == 3
    assert len(_alerts(registry)) == 3


def test_a_fixity_event_already_alerted_by_the_registry_is_not_attached_again(registry, mailbox):  # noqa: F811
    inst, objects = _seed(registry)
    events = _fixity_events(registry, inst, objects)
    admin_id = rows(registry, "SELECT id FROM users WHERE email = 'admin@one.edu'")[0]["id"]
    # the registry's endpoint ran first: one.edu's admins and APTrust know of one event; its alert is unsent
    by_registry = _registry_alert(
        registry, inst["one"], "Failed Fixity Check", events=[events["one_failed"]], recipients=[admin_id]
    )
    _registry_alert(registry, inst["aptrust"], "Failed Fixity Check", events=[events["one_failed"]])

    _record_fixity()
    _send()

    ours = [a for a in _alerts(registry) if a["dag_run_id"]]
    assert [(a["institution"], a["events"]) for a in ours] == [
        ("one.edu", [events["one_failure"]]),
        ("two.edu", [events["two_failed"]]),
        ("aptrust.org", sorted([events["one_failure"], events["two_failed"]])),
    ]
    # the registry's own unsent alert is not ours to send
    assert rows(registry, "SELECT sent_at FROM alerts_users WHERE alert_id = %(id)s", {"id": by_registry}) == [
        {"sent_at": None}
    ]
    assert len(mailbox.messages()) == 3

    # when everything was alerted, no alert is created at all
    registry.connection.execute("TRUNCATE dag_alerts")
    assert _record_fixity(_context(run_id="manual__again"))["recorded_now"] == 0


def test_an_item_is_alerted_once_per_stall_and_again_after_it_is_requeued_and_stalls_again(registry, mailbox):  # noqa: F811
    inst, objects = _seed(registry)
    stalled = registry.work_item(inst["one"], objects["one"], "Restore Object", "Pending", name="bag.tar")
    started = registry.work_item(inst["two"], objects["two"], "Ingest", "Started", name="two.tar")
    recent = registry.work_item(inst["one"], objects["one"], "Restore File", "Pending")
    done = registry.work_item(inst["one"], objects["one"], "Ingest", "Success")
    unqueued = registry.work_item(inst["one"], objects["one"], "Delete", "Pending")
    _queued(registry, stalled, timedelta(days=3))
    _queued(registry, started, timedelta(hours=12, minutes=5))
    _queued(registry, recent, timedelta(hours=11, minutes=55))
    _queued(registry, done, timedelta(days=3))
    assert unqueued  # never queued: not stalled

    summary = _record_stalled()

    alerts = _alerts(registry, "Stalled Work Items")
    assert [(a["institution"], a["work_items"], a["recipients"]) for a in alerts] == [
        ("one.edu", [stalled], ["admin@one.edu"]),
        ("two.edu", [started], []),
        ("aptrust.org", sorted([stalled, started]), ["ops@aptrust.org", "staff@aptrust.org"]),
    ]
    assert f"WorkItem {stalled}: Restore Object, stage Requested, status Pending, name bag.tar" in alerts[0]["content"]
    assert f"https://repo.test/work_items/show/{stalled}" in alerts[0]["content"]
    assert f"WorkItem {started} (two.edu): Ingest" in alerts[2]["content"]
    assert summary["no_recipients"] == ["two.edu"]
    _send()
    assert len(mailbox.messages()) == 3

    # still stalled the next day: not alerted again
    assert _record_stalled(_context(run_id="scheduled__2026-12-08"))["recorded_now"] == 0

    # the first alert was two days ago; the item was requeued since, and stalled again
    registry.connection.execute("UPDATE alerts SET created_at = now() - interval '2 days'")
    _queued(registry, started, timedelta(days=3))  # still in the stall it was alerted of
    _queued(registry, stalled, timedelta(hours=13))
    renewed = _record_stalled(_context(run_id="scheduled__2026-12-09"))
    assert renewed["recorded_now"] == 2
    latest = _alerts(registry, "Stalled Work Items")[3:]
    assert [(a["institution"], a["work_items"]) for a in latest] == [("one.edu", [stalled]), ("aptrust.org", [stalled])]


def test_a_refused_recipient_is_recorded_not_retried_and_named_while_the_others_get_theirs(registry, mailbox):  # noqa: F811
    inst, objects = _seed(registry)
    registry.user(inst["one"], "second@one.edu")
    _fixity_events(registry, inst, objects)
    (mailbox.maildir / "refused_recipients").write_text("admin@one.edu\n")
    _record_fixity()

    context = _context()
    sent = _send(context)

    assert sent["sent"] == 3 and len(sent["delivery_errors"]) == 1
    [(name, error)] = sent["delivery_errors"].items()
    admin_id = rows(registry, "SELECT id FROM users WHERE email = 'admin@one.edu'")[0]["id"]
    assert name.endswith(f"to user {admin_id}") and "admin@one.edu" in error
    [problem] = context["ti"].pushed["problems"]
    assert problem.startswith(name)
    errors = rows(registry, "SELECT user_id, error FROM dag_alert_delivery_errors")
    assert [e["user_id"] for e in errors] == [admin_id]
    assert sorted(m["rcpt_tos"][0] for m in mailbox.messages()) == [
        "ops@aptrust.org",
        "second@one.edu",
        "staff@aptrust.org",
    ]
    # the refusal is on record: never retried, even once the server would accept
    (mailbox.maildir / "refused_recipients").unlink()
    assert _send() == {"sent": 0, "delivery_errors": {}}
    assert rows(registry, "SELECT sent_at FROM alerts_users WHERE user_id = %(id)s", {"id": admin_id}) == [
        {"sent_at": None}
    ]


def test_crash_while_recording_leaves_nothing_and_the_retry_records_it_all(registry, mailbox):  # noqa: F811
    import include.aptrust.alerts_sql as sql

    inst, objects = _seed(registry)
    _fixity_events(registry, inst, objects)

    with pytest.MonkeyPatch.context() as patch:  # the first alert row, its users and links written, then a crash
        patch.setattr(sql, "INSERT_DAG_ALERT", "SELECT 1 / 0")
        with pytest.raises(Exception, match="division by zero"):
            _record_fixity()

    for table in ("alerts", "alerts_users", "alerts_premis_events", "dag_alerts"):
        assert rows(registry, f"SELECT count(*) AS n FROM {table}")[0]["n"] == 0, table
    assert _record_fixity()["recorded_now"] == 3


def test_alerts_recorded_and_not_sent_are_sent_by_the_retry(registry, mailbox):  # noqa: F811
    inst, objects = _seed(registry)
    _fixity_events(registry, inst, objects)
    _record_fixity()  # then the worker dies before send_alerts
    assert _record_fixity()["recorded_now"] == 0

    assert _send()["sent"] == 3
    assert len(mailbox.messages()) == 3


def test_crash_after_one_recipient_of_two_is_accepted_resends_only_the_unmarked_one_with_the_same_message_id(
    registry,  # noqa: F811
    mailbox,  # noqa: F811
):
    from preservation_pipelines.common.hooks.mail import MailHook

    inst, objects = _seed(registry)
    _fixity_events(registry, inst, objects)
    registry.connection.execute("DELETE FROM premis_events WHERE institution_id <> %s", (inst["one"],))
    registry.connection.execute(  # only the summary, to ops and staff
        "UPDATE users SET deactivated_at = now() WHERE email = 'admin@one.edu'"
    )
    _record_fixity()
    real_send = MailHook.send_plain
    calls = []

    def accepted_then_killed(self, **kwargs):
        refused = real_send(self, **kwargs)
        calls.append(kwargs["message_id"])
        if len(calls) == 2:
            raise ConnectionError("worker killed after the server accepted the second mail")
        return refused

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MailHook, "send_plain", accepted_then_killed)
        with pytest.raises(ConnectionError):
            _send()

    unsent = rows(registry, "SELECT user_id FROM alerts_users WHERE sent_at IS NULL")
    assert len(unsent) == 1  # the first is on record as sent, the second is not
    assert _send()["sent"] == 1
    ids = [m["message"]["Message-ID"] for m in mailbox.messages()]
    assert ids == [calls[0], calls[1], calls[1]]  # at-least-once: the second again, with its Message-ID
    assert rows(registry, "SELECT count(*) AS n FROM alerts_users WHERE sent_at IS NULL")[0]["n"] == 0


def test_two_record_tasks_at_once_record_each_alert_once(registry, mailbox):  # noqa: F811
    import threading

    inst, objects = _seed(registry)
    _fixity_events(registry, inst, objects)
    results, errors = [], []

    def record(run_id):
        try:
            results.append(_record_fixity(_context(run_id=run_id))["recorded_now"])
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=record, args=(f"run-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and sorted(results) == [0, 3]  # the advisory lock: the second saw the first's links
    assert len(_alerts(registry)) == 3


def test_two_senders_at_once_send_each_recipient_once(registry, mailbox):  # noqa: F811
    import threading

    inst, objects = _seed(registry)
    for n in range(4):
        registry.user(inst["one"], f"admin-{n}@one.edu")
    _fixity_events(registry, inst, objects)
    _record_fixity()
    sent, errors = [], []

    def send():
        try:
            sent.append(_send()["sent"])
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and sum(sent) == 7  # five admins of one.edu, ops and staff
    ids = [m["message"]["Message-ID"] for m in mailbox.messages()]
    assert len(ids) == len(set(ids)) == 7


def test_a_registry_address_carrying_a_header_injection_is_recorded_as_undeliverable_and_the_others_go(
    registry,  # noqa: F811
    mailbox,  # noqa: F811
):
    inst, objects = _seed(registry)
    hostile = registry.user(inst["one"], "eve@one.edu\r\nBcc: everyone@evil.example")
    _fixity_events(registry, inst, objects)
    _record_fixity()

    context = _context()
    sent = _send(context)

    assert sent["sent"] == 3 and list(sent["delivery_errors"]) == [f"alert 1 to user {hostile}"]
    assert "U+000D" in sent["delivery_errors"][f"alert 1 to user {hostile}"]
    assert rows(registry, "SELECT user_id FROM dag_alert_delivery_errors") == [{"user_id": hostile}]
    assert all("evil.example" not in str(m["rcpt_tos"]) and "Bcc" not in m["message"] for m in mailbox.messages())
