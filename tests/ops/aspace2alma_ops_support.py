"""What the aspace2alma scheduler-level tests share: the DAG ids, the days they run for,
and a fixture that hands them both DAGs parsed, unpaused and without runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.dags.aspace2alma_support import FRIDAY, THURSDAY, WEDNESDAY

EXPORT = "aspace2alma"
CLEANUP = "aspace2alma_skip_day_cleanup"
# 03:30 Eastern on each run's day: Alma's report, delivered on time
DELIVERED = {day: day - timedelta(hours=2) for day in (WEDNESDAY, THURSDAY, FRIDAY)}
# A run dated today waits for a report delivered any time today (the cut-off must lie ahead).
WAIT_ALL_DAY = {"report_fresh_after": "00:00", "report_cutoff": "23:59"}


@pytest.fixture
def fresh_dags(api):
    """Both DAGs parsed and unpaused, with no run left from an earlier test."""
    for dag_id in (EXPORT, CLEANUP):
        api.wait_for_dag(dag_id)
        api.unpause(dag_id)
        for run in api.runs(dag_id):
            api.call("DELETE", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}")
    return api
