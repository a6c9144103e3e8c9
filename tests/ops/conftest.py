"""The scheduler-level suite: Airflow's real components on the devstack, driven only
through the public REST API.

One cluster for the package, stopped when its tests are done (API server, scheduler, dag-processor, triggerer;
LocalExecutor; the session's metadata DB on the devstack's PostgreSQL). The
scheduler's own cron scheduling is off (``use_job_schedule``), so the only runs
are the ones a test triggers or backfills: what it asserts on is all it caused.
"""

from __future__ import annotations

import pytest

from devstack.airflow import ADMIN_PASSWORD, ADMIN_USER, AirflowCluster, airflow_environment
from devstack.process import free_port
from tests.conftest import STACK, WORKDIR
from tests.ops.api import AirflowApi


@pytest.fixture(scope="package")
def airflow_cluster(airflow_db, sftp, aspace, moto, kafka, zookeeper, smtp):
    env = {
        **airflow_environment(STACK, WORKDIR / "airflow", api_port=free_port()),
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__CORE__PARALLELISM": "8",
    }
    cluster = AirflowCluster(env, WORKDIR / "airflow-cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def api(airflow_cluster) -> AirflowApi:
    return AirflowApi(airflow_cluster.base_url, ADMIN_USER, ADMIN_PASSWORD)
