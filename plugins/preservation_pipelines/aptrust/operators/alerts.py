"""Registry alerts: recorded as the registry records them (outbox), then sent one message per recipient.

Which alerts and what they say is ``include.aptrust.alerts``'; this module reads the
registry for it and writes what it decides.
"""

from __future__ import annotations

from typing import Any

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator


class _RecordAlertsOperator(AptrustBaseOperator):
    """Record one alert type's alerts of the run in one transaction (under an advisory lock per type).

    Each alert is recorded with its recipients (``alerts_users``, ``sent_at`` NULL), its
    links and its ``dag_alerts`` row: a crash before the commit leaves nothing, and the retry
    records it all. What is already attached to an alert of the same audience is not
    attached again, so a retry, clear or backfill, or the registry's own endpoint, never
    alerts twice. Returns the run's alerts of the type, whichever try recorded them.
    """

    alert_type: str
    template_fields = ("registry_url",)

    def __init__(self, *, registry_url: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.registry_url = registry_url

    def candidates(self, cursor, context, aptrust_id: int | None) -> list[Any]:
        raise NotImplementedError

    def content(self, items, institution_id: int | None, context) -> str:
        raise NotImplementedError

    def interval_start(self, context):
        return None

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust import alerts_sql as sql
        from include.aptrust.alerts import DEFAULT_REGISTRY_URL, Recipient, plan_alerts
        from preservation_pipelines.aptrust.hooks.registry import _rows

        self.registry_url = self.registry_url or DEFAULT_REGISTRY_URL
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        with self.registry.transaction() as cursor:
            cursor.execute(sql.LOCK_ALERT_TYPE, {"lock_key": f"aptrust alerts/{self.alert_type}"})
            cursor.execute(sql.APTRUST)
            found = cursor.fetchone()
            aptrust = None
            if found is not None:
                cursor.execute(sql.APTRUST_RECIPIENTS, {"institution_id": found[0]})
                aptrust = (found[0], [Recipient(**row) for row in _rows(cursor)])
            candidates = self.candidates(cursor, context, aptrust[0] if aptrust else None)
            admins = self.registry.institution_admins(cursor, sorted({c.institution_id for c in candidates}))
            plan = plan_alerts(
                self.alert_type,
                candidates,
                admins=admins,
                aptrust=aptrust,
                content=lambda items, institution_id: self.content(items, institution_id, context),
            )
            for alert in plan.alerts:
                alert_id = self.registry.insert_alert(
                    cursor, alert, dag_id=dag_id, dag_run_id=run_id, interval_start=self.interval_start(context)
                )
                self.log.info(
                    "recorded alert %d (%s, %s): %d recipient(s), %d item(s)",
                    alert_id,
                    alert.type,
                    alert.institution,
                    len(alert.user_ids),
                    len(alert.linked_ids),
                )
            cursor.execute(sql.RUN_ALERTS, {"dag_id": dag_id, "dag_run_id": run_id, "type": self.alert_type})
            run_alerts = _rows(cursor)
        summary = {
            "recorded_now": len(plan.alerts),
            "alerts": {
                row["alert_id"]: f"{row['institution']} ({row['audience']}): {row['items']} item(s), "
                f"{row['recipients']} recipient(s)"
                for row in run_alerts
            },
            "no_recipients": plan.no_recipients,
            "aptrust_summary": _summary_state(plan),
        }
        for institution in plan.no_recipients:
            self.log.warning("%s has no active institutional admin: its alert is recorded for no one", institution)
        if plan.no_summary:
            self.log.warning("no APTrust summary: %s", plan.no_summary)
        self.log.info("%s: %s", self.alert_type, summary)
        return summary


def _summary_state(plan) -> str:
    from include.aptrust.alerts import APTRUST_AUDIENCE

    if plan.no_summary:
        return f"not recorded: {plan.no_summary}"
    if any(alert.audience == APTRUST_AUDIENCE for alert in plan.alerts):
        return "recorded"
    return "nothing new to APTrust"


class RecordFailedFixityAlertsOperator(_RecordAlertsOperator):
    """``Failed Fixity Check`` alerts for the failed fixity checks of the run's UTC day.

    The day is the one before the run's logical date (UTC); see ``covered_day``.
    """

    def __init__(self, **kwargs) -> None:
        from include.aptrust.alerts import FAILED_FIXITY_CHECK

        super().__init__(**kwargs)
        self.alert_type = FAILED_FIXITY_CHECK

    @staticmethod
    def day(context):
        from include.aptrust.alerts import covered_day

        return covered_day(context.get("logical_date") or context["dag_run"].run_after)

    def interval_start(self, context):
        from include.aptrust.alerts import day_bounds

        return day_bounds(self.day(context))[0]

    def candidates(self, cursor, context, aptrust_id):
        from include.aptrust import alerts_sql as sql
        from include.aptrust.alerts import Candidate, day_bounds
        from preservation_pipelines.aptrust.hooks.registry import _rows

        start, end = day_bounds(self.day(context))
        self.log.info("failed fixity checks of [%s, %s)", start.isoformat(), end.isoformat())
        cursor.execute(sql.FAILED_FIXITY_CANDIDATES, {"start": start, "end": end, "aptrust_id": aptrust_id})
        return [Candidate(**row) for row in _rows(cursor)]

    def content(self, items, institution_id, context) -> str:
        from include.aptrust.alerts import failed_fixity_content, failed_fixity_url

        return failed_fixity_content(failed_fixity_url(self.registry_url, self.day(context), institution_id))

    def execute(self, context) -> dict[str, Any]:
        summary = super().execute(context)
        return {"day": self.day(context).isoformat(), **summary}


class RecordStalledWorkItemAlertsOperator(_RecordAlertsOperator):
    """``Stalled Work Items`` alerts: WorkItems pending or started and queued over 12 hours ago,
    evaluated when the task runs; each alerted once per stall (per ``queued_at``)."""

    def __init__(self, **kwargs) -> None:
        from include.aptrust.alerts import STALLED_WORK_ITEMS

        super().__init__(**kwargs)
        self.alert_type = STALLED_WORK_ITEMS

    def candidates(self, cursor, context, aptrust_id):
        from include.aptrust import alerts_sql as sql
        from include.aptrust.alerts import STALLED_AFTER, Candidate
        from preservation_pipelines.aptrust.hooks.registry import _rows

        cursor.execute(sql.STALLED_CANDIDATES, {"stalled_after": STALLED_AFTER, "aptrust_id": aptrust_id})
        return [Candidate(**row) for row in _rows(cursor)]

    def content(self, items, institution_id, context) -> str:
        from include.aptrust.alerts import stalled_content

        return stalled_content(items, self.registry_url, with_institution=institution_id is None)


SEND_SCOPES = ("all", "dag", "run")


class SendAlertsOperator(AptrustBaseOperator):
    """Send every recorded alert (``dag_alerts``) to each recipient not sent yet: one message each.

    ``scope``: the alerts of every DAG (``all``), of this DAG (``dag``: a failed run's are sent by
    the next), or of this run (``run``). What and how: ``send_recorded_alerts``.
    """

    def __init__(self, *, scope: str = "all", **kwargs) -> None:
        super().__init__(**kwargs)
        if scope not in SEND_SCOPES:
            raise ValueError(f"scope {scope!r} is not one of {SEND_SCOPES}")
        self.scope = scope

    def execute(self, context) -> dict[str, Any]:
        summary = send_recorded_alerts(
            self,
            dag_id=None if self.scope == "all" else context["dag"].dag_id,
            dag_run_id=context["run_id"] if self.scope == "run" else None,
        )
        self.report_problems(context, [f"{name}: {error}" for name, error in summary["delivery_errors"].items()])
        return summary


def send_recorded_alerts(
    sender, *, dag_id: str | None = None, dag_run_id: str | None = None, alert_id: int | None = None
) -> dict[str, Any]:
    """Send the unsent recipients of the recorded alerts (narrowed by DAG, run or alert) with
    ``sender``'s ``registry`` and ``mail`` hooks and log.

    Subject and plain-text body are the alert's; the Message-ID is the alert's and the
    user's, so a resend after a crash between the server's acceptance and ``sent_at``
    repeats it (at-least-once delivery, exactly-once record). Each recipient's row is locked
    while its mail goes, so two senders never send it both. A recipient the server refuses,
    or whose address cannot be sent to, is recorded in ``dag_alert_delivery_errors``, not
    retried, and returned under ``delivery_errors``; the others still go. A server that
    cannot be reached raises, for a retry.
    """
    from include.aptrust import alerts_sql as sql
    from include.aptrust.alerts import alert_message_id
    from preservation_pipelines.aptrust.hooks.registry import _rows
    from preservation_pipelines.common.hooks.mail import UnsendableMessage

    registry, log = sender.registry, sender.log
    pending = registry.query(
        sql.UNSENT_ALERT_RECIPIENTS, {"dag_id": dag_id, "dag_run_id": dag_run_id, "alert_id": alert_id}
    )
    log.info("%d alert mail(s) to send", len(pending))
    sent: list[str] = []
    errors: dict[str, str] = {}
    for done, key in enumerate(pending, start=1):
        with registry.transaction() as cursor:
            cursor.execute(sql.LOCK_UNSENT_RECIPIENT, key)
            rows = _rows(cursor)
            if not rows:  # sent, or being sent, by someone else meanwhile
                continue
            row = rows[0]
            name = f"alert {row['alert_id']} to user {row['user_id']}"
            try:
                sender.mail.send_plain(
                    message_id=alert_message_id(row["alert_id"], row["user_id"]),
                    recipients=[row["email"]],
                    subject=row["subject"],
                    body=row["content"],
                )
            except UnsendableMessage as error:
                cursor.execute(sql.RECORD_DELIVERY_ERROR, {**key, "error": str(error)})
                errors[name] = str(error)
                continue
            cursor.execute(sql.MARK_ALERT_SENT, key)
            sent.append(name)
        if done % 50 == 0:
            log.info("alert mails: %d/%d done", done, len(pending))
    summary = {"sent": len(sent), "delivery_errors": errors}
    log.info("alert mails: %s", summary)
    return summary
