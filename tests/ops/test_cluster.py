"""The cluster itself: components restarted when they exit or hang, tasks spread over the Celery workers."""

from __future__ import annotations

import os
import signal

import pytest

from devstack.process import wait_until


def test_a_killed_triggerer_is_started_again_and_reports_healthy(airflow_cluster):
    triggerer = airflow_cluster.processes["triggerer"]
    killed = triggerer.pid
    os.killpg(killed, signal.SIGKILL)
    wait_until(
        lambda: triggerer.running() and triggerer.pid != killed and airflow_cluster.healthy(),
        180,
        "the triggerer restarted and healthy",
    )
    assert airflow_cluster.restarts[-1][0] == "triggerer"


def test_a_hung_triggerer_is_stopped_and_started_again(airflow_cluster, monkeypatch):
    monkeypatch.setattr(airflow_cluster, "LIVENESS_GRACE", 5.0)  # on top of Airflow's 30 s heartbeat threshold
    triggerer = airflow_cluster.processes["triggerer"]
    hung = triggerer.pid
    os.killpg(hung, signal.SIGSTOP)  # alive, holding its slot, never heartbeating again
    wait_until(
        lambda: triggerer.running() and triggerer.pid != hung and airflow_cluster.healthy(),
        240,
        "the hung triggerer replaced by a healthy one",
    )
    assert airflow_cluster.restarts[-1][0] == "triggerer"
    with pytest.raises(ProcessLookupError):
        os.killpg(hung, 0)  # the hung process group is gone, not left behind


def test_tasks_of_the_earlier_tests_ran_on_every_celery_worker(airflow_cluster):
    workers = [process for name, process in airflow_cluster.processes.items() if name.startswith("celery-worker")]
    if not workers:
        pytest.skip("LocalExecutor: no Celery workers")
    executed = {worker.name: worker.log_path.read_text().count("Executing workload in Celery") for worker in workers}
    assert len(executed) == 2 and all(count > 0 for count in executed.values()), executed
