"""`make demo` for the Merritt DAGs: the seed prepares ZooKeeper, then every Merritt DAG succeeds with its conf."""

from __future__ import annotations

import json

from kazoo.client import KazooClient

from devstack.demo_seed_merritt import PROFILES, seed
from tests.dags.helpers import run_dag, xcom_return


def test_the_demo_seed_makes_every_merritt_dag_succeed(airflow_db, zookeeper, devstack, smtp, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_PROFILES", json.dumps(PROFILES))
    confs = seed(devstack)
    assert seed(devstack) == confs  # seeding twice (make run after make run) changes nothing

    reporting = run_dag("merritt_batch_reporting")
    staging = run_dag("merritt_ingest_staging", conf=confs["merritt_ingest_staging"])
    admin = run_dag("merritt_queue_admin", conf=confs["merritt_queue_admin"])

    assert [str(run.state) for run in (reporting, staging, admin)] == ["success"] * 3
    (reported,) = xcom_return(reporting, "report_finished_batches")["reported"]
    assert (reported["outcome"], reported["completed"], reported["failed"]) == ("Failed", 2, 1)
    assert xcom_return(staging, "stage_batch")["jobs"] == 5
    assert xcom_return(admin, "run_admin_action")["changes"][0]["after"] == "Downloading"
    client = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}")
    client.start(timeout=10)
    try:
        assert len(client.get_children("/jobs/states/pending")) == 5
    finally:
        client.stop()
        client.close()
