"""Running a DAG of dags/ for real (``dag.test()``) and reading what it returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devstack.demo import return_values
from devstack.settings import REPO_ROOT


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def run_dag(dag_id: str, *, logical_date: datetime | None = None, conf: dict[str, Any] | None = None):
    """Run every task of one DAG run in this process; returns the DagRun."""
    dag = load_dag(dag_id)
    kwargs = {"run_conf": conf or {}}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
        kwargs["run_after"] = logical_date
    return dag.test(**kwargs)


def task_states(dag_run) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
        )
        return {ti.task_id: str(ti.state) for ti in rows}


def xcom_return(dag_run, task_id: str) -> Any:
    return return_values(dag_run.dag_id, dag_run.run_id, [task_id])[task_id]


def asset_events(dag_run) -> list[str]:
    """The URIs of the asset events a DAG run recorded (its tasks' outlets, on success)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        uris = session.scalars(
            select(AssetModel.uri)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_dag_id == dag_run.dag_id, AssetEvent.source_run_id == dag_run.run_id)
        )
        return sorted(uris)
