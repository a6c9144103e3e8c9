"""Run every DAG of the repository once, headless, and print a per-DAG summary.

Runs inside a process whose environment already points Airflow at a devstack
(``python -m devstack demo`` sets it up). Each DAG runs with ``dag.test()``: the
real tasks against the real servers, no scheduler. A DAG's run summary is what its
leaf tasks return (their ``return_value`` XCom).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devstack.settings import REPO_ROOT, load_settings

# The human-in-the-loop tasks the demo answers itself (dag.test() never does), as the demo's
# second person, approver@demo.edu: the archive's drop is approved, so the demo shows it through
# (its registry is new on every `make demo`). The bulk deletion's approver is a process of
# devstack.demo_seed_aptrust.
DEMO_APPROVALS = {"aptrust_legacy_pharos_archive": "approve_drop"}
APPROVAL_WAIT_SECONDS = 300
ARCHIVE_LOCATION_VARIABLE = "aptrust_legacy_archive_location"


@dataclass
class DemoResult:
    dag_id: str
    state: str
    seconds: float
    summary: Any


def load_dags() -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {json.dumps(bag.import_errors, indent=2)}")
    return bag.dags


def return_values(dag_id: str, run_id: str, task_ids: list[str]) -> dict[str, Any]:
    """The ``return_value`` XComs of some tasks of one DAG run, keyed by task id."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(XComModel).filter(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.key == "return_value",
            XComModel.task_id.in_(task_ids),
        )
        return {row.task_id: XComModel.deserialize_value(row) for row in rows}


def run_summary(dag: Any, dag_run: Any) -> Any:
    """What the DAG's leaf task returned (by task id when there are several leaves)."""
    leaves = [task.task_id for task in dag.leaves]
    values = return_values(dag.dag_id, dag_run.run_id, leaves)
    return values.get(leaves[0]) if len(leaves) == 1 else values


def scheduled_instants() -> dict[str, datetime]:
    """Today's scheduled instants of the DAGs that judge another DAG's run by its logical
    date: the deadline check looks for the export run of its day (05:30 Eastern), so both
    run at their instants of today as the scheduler would run them; the others at now."""
    from include.aspace2alma.schedule import DEADLINE_SCHEDULE, EXPORT_SCHEDULE
    from include.common.eastern_time import eastern_day, eastern_instant, eastern_now

    today = eastern_day(eastern_now())
    return {
        "aspace2alma": eastern_instant(today, EXPORT_SCHEDULE.at),
        "aspace2alma_deadline_check": eastern_instant(today, DEADLINE_SCHEDULE.at),
    }


def run_dag(dag: Any, conf: dict[str, Any], logical_date: datetime | None = None) -> DemoResult:
    began = time.monotonic()
    approver = approve_in_background(dag.dag_id)
    try:
        dated = {"logical_date": logical_date} if logical_date else {}  # else dag.test()'s default: now
        dag_run = dag.test(run_conf=conf, **dated)
        state = str(dag_run.state)
        summary = run_summary(dag, dag_run)
    except Exception as error:  # noqa: BLE001 - the demo reports every DAG, whatever one does
        state, summary = "error", f"{type(error).__name__}: {error}"
    if approver is not None:
        approver.join(timeout=5)
    return DemoResult(dag.dag_id, state, time.monotonic() - began, summary)


def answer_in_background(answer: Callable[[], bool], wait_seconds: float = APPROVAL_WAIT_SECONDS) -> threading.Thread:
    """Call ``answer`` from another thread every half second until it answers a waiting task
    (returns True) or ``wait_seconds`` pass; as a person would, once the run waits for them."""
    # Imported here, before the thread starts: Airflow's API modules imported in a thread
    # while dag.test() configures the ORM mappers in the main one deadlock on the import lock.
    import airflow.api_fastapi.core_api.routes.public.hitl  # noqa: F401

    def loop():
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            try:
                if answer():
                    return
            except Exception as error:  # noqa: BLE001 - retried until the run is waiting
                logging.getLogger(__name__).info("not yet: %s", error)
            time.sleep(0.5)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def approve_in_background(dag_id: str) -> threading.Thread | None:
    """Approve ``dag_id``'s waiting task of DEMO_APPROVALS, if it has one, as the demo's approver."""
    from devstack.demo_seed_aptrust import DEMO_APPROVER, approve_pending

    if dag_id not in DEMO_APPROVALS:
        return None
    return answer_in_background(lambda: approve_pending(dag_id, DEMO_APPROVALS[dag_id], DEMO_APPROVER))


def ensure_archive_bucket(moto_endpoint_url: str) -> None:
    """Create the bucket of the legacy archive's location (airflow_settings.yaml) on the devstack's
    moto, when it is one; a deployment's bucket exists already (the DAG never creates one)."""
    import boto3

    settings = load_settings()
    location = next(
        (v["variable_value"] for v in settings["variables"] if v["variable_name"] == ARCHIVE_LOCATION_VARIABLE), ""
    )
    if not location.startswith("s3://"):
        return
    aws = next(c for c in settings["connections"] if c["conn_id"] == "aws_default")
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint_url,
        region_name=aws["conn_extra"]["region_name"],
        aws_access_key_id=aws["conn_login"],
        aws_secret_access_key=aws["conn_password"],
    )
    bucket = location.removeprefix("s3://").split("/", 1)[0]
    if bucket not in {item["Name"] for item in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)


def print_results(results: list[DemoResult]) -> None:
    print("\n=== demo summary ===")
    for result in results:
        print(f"{result.dag_id:40} {result.state:8} {result.seconds:7.1f}s")
        print(f"    {json.dumps(result.summary, default=str)}")


def main(demo_confs: dict[str, dict[str, Any]]) -> int:
    dags = load_dags()
    instants = scheduled_instants()
    results = [run_dag(dags[dag_id], demo_confs.get(dag_id, {}), instants.get(dag_id)) for dag_id in sorted(dags)]
    print_results(results)
    failed = [result.dag_id for result in results if result.state != "success"]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print(f"all {len(results)} DAGs succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
