"""DAGs for the run-notes listener's tests: a summary with nothing to do, one naming records."""

from __future__ import annotations

from airflow.sdk import DAG
from airflow.sdk.bases.operator import BaseOperator

from preservation_pipelines.common.operators.run_summary import RunSummaryOperator


class Export(BaseOperator):
    def __init__(self, *, failed: dict[str, str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.failed = failed

    def execute(self, context):
        return {"written": 41, "failed": self.failed}


for dag_id, failed in (
    ("run_note_clean", {}),
    ("run_note_with_problems", {"/repositories/2/resources/18": "top container 4: barcode is not a string"}),
):
    with DAG(dag_id=dag_id, schedule=None):
        Export(task_id="export", failed=failed) >> RunSummaryOperator(
            task_id="run_summary", steps="export", problems=("failed",)
        )
