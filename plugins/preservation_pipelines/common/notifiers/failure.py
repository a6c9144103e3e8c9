"""One mail per failed task, after its last try, to the people who run that system.

Set as every task's ``on_failure_callback`` (through each DAG file's ``default_args``):
Airflow calls it only when a try fails with no retry left, never on a retry, so a task
that fails once and then succeeds sends nothing. Recipients come from the Airflow
Variable ``<system>_alert_to`` (comma separated), read when the task fails, so an
operator changes them without a deploy.

Built on ``BaseNotifier`` and the common ``MailHook`` rather than the SMTP provider's
``SmtpNotifier``: the recipients come from a Variable that may be unset (the provider's
notifier would raise), and ``MailHook`` refuses header injection and reports refused
recipients, as every other mail of the project does.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier, Variable
from airflow.sdk.exceptions import AirflowFailException

MAX_ERROR_LINE = 500


class FailedAfterNotifying(AirflowFailException):
    """A task that failed on purpose after mailing the people concerned itself (the deadline
    alert): the failure notifier sends nothing more for it."""


def recipients_from_variable(variable: str) -> list[str]:
    """The comma-separated addresses of an Airflow Variable; empty when it is unset."""
    value = Variable.get(variable, default=None) or ""
    return [address.strip() for address in str(value).split(",") if address.strip()]


def error_line(exception: BaseException | str | None) -> str:
    """The first line of the error, with its type: what a person reads before opening the log."""
    if exception is None:
        return "no exception recorded (the task was failed from outside: see the log)"
    if isinstance(exception, BaseException):
        first = (str(exception).strip().splitlines() or [""])[0]
        text = f"{type(exception).__name__}: {first}" if first else type(exception).__name__
    else:
        text = (str(exception).strip().splitlines() or [""])[0]
    return text if len(text) <= MAX_ERROR_LINE else text[: MAX_ERROR_LINE - 1] + "…"


def failure_message(context: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body naming the DAG, task, run, try, the error line and the log."""
    ti = context["ti"]
    tries = f"{ti.try_number}"
    max_tries = getattr(ti, "max_tries", None)
    if max_tries is not None:
        tries += f" of {max_tries + 1}"
    subject = f"[Airflow] {ti.dag_id}.{ti.task_id} failed (run {ti.run_id})"
    body = "\n".join(
        [
            f"DAG:   {ti.dag_id}",
            f"Task:  {ti.task_id}",
            f"Run:   {ti.run_id}",
            f"Try:   {tries} (the last: no retry follows)",
            f"Error: {error_line(context.get('exception'))}",
            f"Log:   {ti.log_url}",
            "",
            "Clear the task in the Airflow UI once the cause is fixed; the DAG's docs say what a clear redoes.",
        ]
    )
    return subject, body


class TaskFailureNotifier(BaseNotifier):
    """Mail the failure of a task (after its last try) to the addresses in ``recipients_variable``.

    A failure to mail is logged, never raised: the task has failed already, and its
    state is what the UI shows.
    """

    def __init__(self, *, recipients_variable: str, smtp_conn_id: str | None = None) -> None:
        super().__init__()
        self.recipients_variable = recipients_variable
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context) -> None:
        from preservation_pipelines.common.hooks.mail import MailHook

        subject, body = failure_message(context)
        if isinstance(context.get("exception"), FailedAfterNotifying):
            self.log.info("%s. Not mailed: the task mailed its own alert before failing", subject)
            return
        to = recipients_from_variable(self.recipients_variable)
        if not to:
            self.log.warning("%s. Not mailed: Variable %s names no recipient", subject, self.recipients_variable)
            return
        hook = MailHook(smtp_conn_id=self.smtp_conn_id) if self.smtp_conn_id else MailHook()
        try:
            refused = hook.send_plain(recipients=to, subject=subject, body=body)
        except Exception:  # noqa: BLE001 - the task failed already; its failure must not be hidden by this one
            self.log.exception("%s. The failure mail to %s could not be sent", subject, to)
            return
        self.log.info("failure mailed to %s (refused: %s)", [a for a in to if a not in refused], refused or "none")
