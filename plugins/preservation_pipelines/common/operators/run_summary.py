"""The last task of a DAG run: its run summary, gathered from what the steps returned."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from include.common.run_note import RUN_SUMMARY_XCOM_KEY


class RunSummaryOperator(BaseOperator):
    """Gather the run summary, log it, return it, and fail (no retry) if it lists problems.

    The summary is also kept under the XCom key ``run_summary``, failed or not, which the
    run-notes listener writes into the DAG run's note when the run finishes.

    :param steps: the task id whose return value is the summary as it is, or
        ``{name: task_id}`` / ``{name: (task_id, xcom_key)}`` for a summary made of several
        steps' results (a step that did not run gives ``None``).
    :param problems: keys of the summary holding the records that need an operator, as a
        list or as ``{record: reason}`` (parked stream records, items whose message cannot
        be built, resources skipped as failed): the task fails naming each of them, after
        the run went on past them.
    """

    def __init__(
        self, *, steps: str | dict[str, str | tuple[str, str]], problems: tuple[str, ...] = (), **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.steps = steps
        self.problems = problems

    def execute(self, context) -> dict[str, Any]:
        ti = context["ti"]
        if isinstance(self.steps, str):
            summary = ti.xcom_pull(task_ids=self.steps) or {}
        else:
            summary = {name: _pull(ti, source) for name, source in self.steps.items()}
        self.log.info("run summary: %s", summary)
        ti.xcom_push(key=RUN_SUMMARY_XCOM_KEY, value=summary)
        found = {key: summary[key] for key in self.problems if summary.get(key)}
        if found:
            lines = [f"{key}: {entry}" for key, entries in found.items() for entry in _named(entries)]
            raise AirflowFailException(
                f"{len(lines)} record(s) need an operator (the run went on past them):\n" + "\n".join(lines)
            )
        return summary


def _named(entries: list | dict) -> list:
    if isinstance(entries, dict):
        return [f"{record}: {reason}" for record, reason in entries.items()]
    return list(entries)


def _pull(ti, source: str | tuple[str, str]) -> Any:
    if isinstance(source, str):
        return ti.xcom_pull(task_ids=source)
    task_id, key = source
    return ti.xcom_pull(task_ids=task_id, key=key)
