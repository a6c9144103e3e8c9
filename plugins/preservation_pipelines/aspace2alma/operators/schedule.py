"""Checks that judge a run by the schedule: is it superseded, is the day's export done by its deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator, CronTriggerTimetable
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from include.aspace2alma.dropbox import ALMA_IMPORT_AT, OUTPUT_NAME
from include.aspace2alma.schedule import fire_instants
from include.common.eastern_time import eastern_day, eastern_instant
from preservation_pipelines.aspace2alma.notifiers.deadline import RECIPIENTS_VARIABLE, recipients, send_late_alert
from preservation_pipelines.aspace2alma.operators.base import Aspace2AlmaBaseOperator
from preservation_pipelines.common.notifiers.failure import FailedAfterNotifying

# Bounds the list of logical dates sent to the metadata query: newer runs are looked for this far ahead.
SUPERSEDED_LOOKAHEAD = timedelta(days=120)


class SkipIfSupersededOperator(BaseOperator):
    """Skip the whole run when a newer run of the DAG exists: the export is a full snapshot.

    A newer run is one at a later fire instant of the DAG's own schedule (its cron
    and zone), up to now: a backfill over N missed days creates them all at once,
    so only the newest exports. Manual runs are not at fire instants and supersede nothing.
    """

    def execute(self, context) -> dict[str, Any]:
        dag, ti = context["dag"], context["ti"]
        logical_date = context["logical_date"]
        timetable = dag.timetable
        if not isinstance(timetable, CronTriggerTimetable):
            raise TypeError(f"{dag.dag_id}: the superseded check needs a CronTriggerTimetable, not {timetable!r}")
        until = min(datetime.now(UTC), logical_date + SUPERSEDED_LOOKAHEAD)
        later = fire_instants(timetable.expression, timetable.timezone, after=logical_date, until=until)
        newer_runs = ti.get_dr_count(dag_id=dag.dag_id, logical_dates=later) if later else 0
        if newer_runs:
            raise AirflowSkipException(
                f"superseded: {newer_runs} newer run(s) of {dag.dag_id} exist after {logical_date.isoformat()}; "
                "the newest run exports the full snapshot, this one skips its export"
            )
        self.log.info("no newer run of %s after %s: this run exports", dag.dag_id, logical_date.isoformat())
        return {"superseded": False}


class ExportDeadlineCheckOperator(Aspace2AlmaBaseOperator):
    """Alert when the run of ``dag_id_to_check`` at ``at`` Eastern on this run's day has not succeeded.

    The deadline alert of ``aspace2alma`` (Airflow's Deadline Alerts break ``dag.test()``
    in 3.3.2, so the check is a task scheduled at the deadline). When the export is not
    done it mails the recipients, then fails red without a retry (one alert per run; a
    server that cannot be reached is retried, then the mail goes and the task fails).
    A recipient list the server can never take is named in the failure, not retried.
    Returns ``{"day", "done"}`` when the export is done.
    """

    def __init__(self, *, dag_id_to_check: str, at: str, to: list[str] | str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dag_id_to_check = dag_id_to_check
        self.at = at
        self.to = to

    def execute(self, context) -> dict[str, Any]:
        day = eastern_day(context["logical_date"])
        fire = eastern_instant(day, self.at)
        done = context["ti"].get_dr_count(dag_id=self.dag_id_to_check, logical_dates=[fire], states=["success"]) > 0
        if done:
            self.log.info(
                "%s run of %s (%s) succeeded before the deadline", self.dag_id_to_check, day, fire.isoformat()
            )
            return {"day": day.isoformat(), "done": True}
        message = (
            f"{self.dag_id_to_check} run of {day} ({self.at} Eastern) is not done at its deadline: Alma imports "
            f"{OUTPUT_NAME} at {ALMA_IMPORT_AT}; check the run now (a file uploaded after {ALMA_IMPORT_AT} is "
            "imported the next day)"
        )
        from preservation_pipelines.common.hooks.mail import UnsendableMessage

        to = recipients(self.to)
        if not to:
            raise AirflowFailException(f"{message}. No alert mailed: Variable {RECIPIENTS_VARIABLE} is empty")
        try:
            refused = send_late_alert(self.mail_hook, message, to)
        except UnsendableMessage as error:
            raise AirflowFailException(f"{message}. The alert could not be mailed: {error}") from error
        alerted = [address for address in to if address not in refused]
        raise FailedAfterNotifying(f"{message}. Alert mailed to {', '.join(alerted)}")
