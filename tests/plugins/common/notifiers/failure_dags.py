"""Two DAGs for the failure notifier's tests: one task that always fails, one that fails once."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG
from airflow.sdk.bases.operator import BaseOperator

from preservation_pipelines.common.notifiers.failure import TaskFailureNotifier

DEFAULT_ARGS = {
    "retries": 1,
    "retry_delay": timedelta(0),
    "on_failure_callback": TaskFailureNotifier(recipients_variable="test_alert_to"),
}


class AlwaysFails(BaseOperator):
    def execute(self, context):
        raise ValueError("manifest row 7: fileUrl 'ftp://x' is not http(s)\nsecond line never mailed")


class FailsOnce(BaseOperator):
    def execute(self, context):
        if context["ti"].try_number == 1:
            raise ConnectionError("the server went away")
        return "done"


with DAG(dag_id="failure_notifier_always_fails", schedule=None, default_args=DEFAULT_ARGS):
    AlwaysFails(task_id="step")

with DAG(dag_id="failure_notifier_fails_once", schedule=None, default_args=DEFAULT_ARGS):
    FailsOnce(task_id="step")
