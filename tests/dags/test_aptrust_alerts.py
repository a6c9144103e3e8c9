"""aptrust_alerts end to end (dag.test on the real registry and SMTP sink): a day's alerts recorded and
mailed once, the next day's run only its own, a refused recipient named by the run summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.dags.helpers import run_dag, task_states, xcom_return
from tests.include.aptrust.fixtures import failure_notices, mailbox, registry, registry_mail, rows  # noqa: F401

RUN_AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # 07:00 Eastern: covers the UTC day 2026-12-06


def _seed(registry):  # noqa: F811
    one = registry.institution("one.edu")
    registry.user(one, "admin@one.edu")
    lonely = registry.institution("lonely.edu")  # no admin at all
    aptrust = registry.institution("aptrust.org", spot_restore_frequency=0)
    registry.user(aptrust, "ops@aptrust.org", role="admin")
    registry.user(aptrust, "system@aptrust.org", role="admin")
    bag = registry.intellectual_object(one, "one.edu/bag")
    lonely_bag = registry.intellectual_object(lonely, "lonely.edu/bag")
    day = datetime(2026, 12, 6, 9, tzinfo=UTC)
    events = {
        "day": registry.premis_event(one, bag, date_time=day),
        "lonely": registry.premis_event(lonely, lonely_bag, date_time=day),
        "next_day": registry.premis_event(one, bag, date_time=day + timedelta(days=1)),
    }
    stalled = registry.work_item(one, bag, "Ingest", "Started")
    registry.connection.execute("UPDATE work_items SET queued_at = now() - interval '1 day' WHERE id = %s", (stalled,))
    return events, stalled


def test_a_days_alerts_recorded_and_mailed_once_and_the_next_day_only_its_own(airflow_db, registry, mailbox):  # noqa: F811
    events, stalled = _seed(registry)

    dag_run = run_dag("aptrust_alerts", logical_date=RUN_AT)

    assert str(dag_run.state) == "success", task_states(dag_run)
    summary = xcom_return(dag_run, "run_summary")
    assert summary["failed_fixity"]["day"] == "2026-12-06"
    assert summary["failed_fixity"]["no_recipients"] == ["lonely.edu"]
    assert summary["failed_fixity"]["aptrust_summary"] == "recorded"
    assert len(summary["failed_fixity"]["alerts"]) == 3 and len(summary["stalled_work_items"]["alerts"]) == 2
    assert summary["mail"] == {"sent": 4, "delivery_errors": {}}
    messages = registry_mail(mailbox.messages())
    assert sorted((m["rcpt_tos"][0], m["subject"]) for m in messages) == [
        ("admin@one.edu", "Failed Fixity Check"),
        ("admin@one.edu", "Stalled Work Items"),
        ("ops@aptrust.org", "Failed Fixity Check"),
        ("ops@aptrust.org", "Stalled Work Items"),
    ]
    linked = rows(registry, "SELECT premis_event_id FROM alerts_premis_events ORDER BY 1")
    assert {row["premis_event_id"] for row in linked} == {events["day"], events["lonely"]}

    # the same day again (a clear of the whole run, a backfill over it): nothing new
    again = run_dag("aptrust_alerts", logical_date=RUN_AT + timedelta(minutes=1))
    assert str(again.state) == "success", task_states(again)
    assert xcom_return(again, "run_summary")["mail"]["sent"] == 0

    # the next day: its own event only; the item, still in the same stall, is not alerted again
    next_day = run_dag("aptrust_alerts", logical_date=RUN_AT + timedelta(days=1))
    assert str(next_day.state) == "success", task_states(next_day)
    next_summary = xcom_return(next_day, "run_summary")
    assert next_summary["stalled_work_items"]["alerts"] == {}
    assert next_summary["mail"]["sent"] == 2
    assert len(registry_mail(mailbox.messages())) == 6


def test_a_refused_recipient_fails_the_run_summary_naming_it_after_the_others_were_sent(airflow_db, registry, mailbox):  # noqa: F811
    _seed(registry)
    (mailbox.maildir / "refused_recipients").write_text("ops@aptrust.org\n")

    dag_run = run_dag("aptrust_alerts", logical_date=RUN_AT)

    states = task_states(dag_run)
    assert states["send_alerts"] == "success" and states["run_summary"] == "failed", states
    assert failure_notices(mailbox.messages()) == ["run_summary"]
    assert sorted(m["rcpt_tos"][0] for m in registry_mail(mailbox.messages())) == ["admin@one.edu", "admin@one.edu"]
    assert len(rows(registry, "SELECT * FROM dag_alert_delivery_errors")) == 2


def test_the_demo_seed_makes_one_alert_of_each_kind_for_demo_edu_and_the_aptrust_summaries(
    airflow_db,  # noqa: ARG001
    registry,  # noqa: F811
    mailbox,  # noqa: F811
):
    from devstack.demo_seed_aptrust import seed_registry

    seed_registry(registry)

    dag_run = run_dag("aptrust_alerts")  # at now, as make demo runs it

    assert str(dag_run.state) == "success", task_states(dag_run)
    summary = xcom_return(dag_run, "run_summary")
    alerts = rows(
        registry,
        "SELECT a.type, i.identifier FROM alerts a JOIN institutions i ON i.id = a.institution_id ORDER BY a.id",
    )
    assert sorted((a["type"], a["identifier"]) for a in alerts) == [
        ("Failed Fixity Check", "aptrust.org"),
        ("Failed Fixity Check", "demo.edu"),
        ("Stalled Work Items", "aptrust.org"),
        ("Stalled Work Items", "demo.edu"),
    ]
    assert summary["mail"]["sent"] == 2 * 3  # demo.edu's two admins and ops@aptrust.org, for each type
