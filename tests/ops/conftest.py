"""The scheduler-level suite: Airflow's real components on the devstack, driven only
through the public REST API.

The package runs twice, once per executor: one cluster at a time (API server, scheduler,
dag-processor, triggerer; the session's metadata DB on the devstack's PostgreSQL), first
with the LocalExecutor, then with the CeleryExecutor (Redis as the broker, two workers,
each with its own working and temp directory, so a task that needed a file another task
left on local disk would fail). The scheduler's own cron scheduling is off
(``use_job_schedule``), so the only runs are the ones a test triggers or backfills: what
it asserts on is all it caused.
"""

from __future__ import annotations

import pytest

from devstack.airflow import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    APPROVER_PASSWORD,
    APPROVER_USER,
    AirflowCluster,
    airflow_environment,
    celery_environment,
    move_variables_into_metadata_db,
)
from devstack.debian import CELERY_BROKER, ensure_debian_packages
from devstack.process import free_port
from devstack.servers import RedisServer
from tests.conftest import STACK, WORKDIR
from tests.ops.api import AirflowApi

EXECUTORS = ("LocalExecutor", "CeleryExecutor")
CELERY_WORKERS = 2


@pytest.fixture(scope="package", params=EXECUTORS)
def airflow_cluster(request, airflow_db, sftp, aspace, moto, kafka, zookeeper, smtp):
    env = {
        **airflow_environment(STACK, WORKDIR / "airflow", api_port=free_port()),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__CORE__PARALLELISM": "8",
    }
    # Variables in the metadata DB, as `make run` has them: tests set theirs through the API,
    # which an AIRFLOW_VAR_* would shadow. Taken out again after, for the suites that follow.
    imported = [key[len("AIRFLOW_VAR_") :].lower() for key in env if key.startswith("AIRFLOW_VAR_")]
    env = move_variables_into_metadata_db(env)
    broker = None
    if request.param == "CeleryExecutor":
        ensure_debian_packages(CELERY_BROKER)
        broker = RedisServer(WORKDIR, free_port())
        broker.start()
        env.update(celery_environment(env, broker.url))
    workers = CELERY_WORKERS if broker else 0
    cluster = AirflowCluster(env, WORKDIR / f"airflow-cluster-{request.param}", celery_workers=workers)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        if broker is not None:
            broker.stop()
        _delete_variables(imported)


def _delete_variables(keys: list[str]) -> None:
    from airflow.models import Variable
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(Variable).where(Variable.key.in_(keys)))


@pytest.fixture(scope="package")
def api(airflow_cluster) -> AirflowApi:
    return AirflowApi(airflow_cluster.base_url, ADMIN_USER, ADMIN_PASSWORD)


@pytest.fixture(scope="package")
def approver_api(airflow_cluster) -> AirflowApi:
    """The second person: approves what ``api`` (admin) triggered."""
    return AirflowApi(airflow_cluster.base_url, APPROVER_USER, APPROVER_PASSWORD)
