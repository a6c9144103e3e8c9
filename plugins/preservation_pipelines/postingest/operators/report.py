"""The last task of each postingest DAG: log and return the run summary, fail on what needs an operator."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException


class PostingestRunReportOperator(BaseOperator):
    """Log the upstream task's run summary, return it, and fail (no retries) if it lists problems.

    ``problems`` names the summary keys holding lists that need an operator (parked
    stream records, items whose message cannot be built).
    """

    def __init__(self, *, summary_task_id: str, problems: tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.summary_task_id = summary_task_id
        self.problems = problems

    def execute(self, context) -> dict[str, Any]:
        summary = context["ti"].xcom_pull(task_ids=self.summary_task_id)
        self.log.info("run summary: %s", summary)
        found = {key: summary[key] for key in self.problems if summary.get(key)}
        if found:
            lines = [f"{key}: {entry}" for key, entries in found.items() for entry in entries]
            raise AirflowFailException(
                f"{len(lines)} record(s) need an operator (the run went on past them):\n" + "\n".join(lines)
            )
        return summary
