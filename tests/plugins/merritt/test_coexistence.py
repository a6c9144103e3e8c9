"""The DAGs' tasks and a stand-in for Merritt's running ingest share one queue on the real ZooKeeper.

Merritt's side (``tests/include/merritt/merritt_ingest.py``) submits its own batches, moves
them to Reporting while their jobs have not run, holds the jobs of held collections,
releases a collection its own way and reports with its own batch reporter, all in threads
beside the staging, reporting and admin operators. A monitor reads the queue the whole
time. Every batch, staged by either side, must be reported exactly once (one e-mail in the
SMTP sink), only once all its jobs have finished, and nothing may be left Held or half-made.
"""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

from kazoo.exceptions import NoNodeError

from include.merritt.submission import batch_id_of
from preservation_pipelines.merritt.operators.admin import MerrittQueueAdminOperator
from preservation_pipelines.merritt.operators.reporting import MerrittBatchReportingOperator
from preservation_pipelines.merritt.operators.staging import MerrittStagingOperator
from preservation_pipelines.merritt.queue.zookeeper import QueueNodes
from tests.include.merritt.merritt_ingest import MerrittIngest, MerrittWouldFail
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    PROFILE,
    batch_manifest,
    connect,
    merritt_conn,
    queue_root,
    read_json,
    submission_conf,
    web,
    zk,
    zk_chroot,
)

HELD_BY_DAG, HELD_BY_MERRITT = "held_by_dag", "held_by_merritt"
FINISHED_JOB_FOLDERS = ("batch-completed", "batch-failed", "batch-deleted")


def _batches_broken(client, expected_jobs: dict[str, int]) -> list[str]:
    """What no reader may ever see: a batch without status, an empty batch-processing before all its jobs
    exist or finish, a reported batch with a job not finished."""
    problems = []
    for bid in client.get_children("/batches"):
        try:
            status = json.loads(client.get(f"/batches/{bid}/status")[0])
        except NoNodeError:
            problems.append(f"{bid} without status")
            continue
        batch_id = json.loads(client.get(f"/batches/{bid}/submission")[0])["batchID"]
        try:
            processing = client.get_children(f"/batches/{bid}/states/batch-processing")
        except NoNodeError:
            processing = None
        finished = sum(
            len(client.get_children(f"/batches/{bid}/states/{folder}"))
            for folder in FINISHED_JOB_FOLDERS
            if client.exists(f"/batches/{bid}/states/{folder}")
        )
        if processing == [] and finished != expected_jobs.get(batch_id, -1):
            problems.append(
                f"{bid} has an empty batch-processing with {finished} of {expected_jobs.get(batch_id)} jobs finished"
            )
        if status["status"] in ("Completed", "Failed") and (processing or finished != expected_jobs.get(batch_id)):
            problems.append(f"{bid} is {status['status']} with {len(processing or [])} jobs unfinished")
    return problems


def test_batches_staged_by_either_side_are_reported_once_when_their_jobs_are_done(
    zookeeper, merritt_conn, zk, zk_chroot, queue_root, web, smtp, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_PROFILES", json.dumps([PROFILE, HELD_BY_DAG, HELD_BY_MERRITT]))
    mail_before = len(smtp.messages())
    QueueNodes(zk).ensure_layout()
    clients = [connect(zookeeper.port, zk_chroot) for _ in range(3)]
    merritt_worker, merritt_reporter = (MerrittIngest(client, queue_root, smtp.port) for client in clients[:2])
    expected_jobs: dict[str, int] = {}
    dag_reported: list[str] = []
    errors: list[tuple[str, BaseException]] = []
    stop = threading.Event()

    def forever(name, step):
        def run():
            while not stop.is_set():
                try:
                    step()
                except BaseException as error:  # noqa: BLE001 - reported by the test
                    errors.append((name, error))
                    stop.set()
                time.sleep(0.02)

        return threading.Thread(target=run, name=name)

    def work():
        merritt_worker.consume_batches()
        while merritt_worker.run_pending():
            time.sleep(0.01)  # jobs take a while: reporters poll in between

    def dag_report():
        summary = MerrittBatchReportingOperator(task_id="report_finished_batches").execute({})
        dag_reported.extend(report["bid"] for report in summary["reported"])

    def monitor():
        problems = _batches_broken(clients[2], expected_jobs)
        if problems:
            raise MerrittWouldFail("; ".join(problems))

    def stage(rows, profile, n):
        conf = submission_conf(rows, payload=batch_manifest(rows, start=100 * n, base=web.url), profile=profile)
        conf["notification"] = "curator@example.org"
        expected_jobs[batch_id_of(conf["submission_uuid"])] = rows
        context = {"params": conf, "dag": SimpleNamespace(dag_id="merritt_ingest_staging"), "run_id": f"r{n}"}
        return MerrittStagingOperator(task_id="stage_batch").execute(context)

    def admin(action, target):
        return MerrittQueueAdminOperator(task_id="run_admin_action", action=action, target=target).execute({})

    def wait_for(condition, what, seconds=90):
        deadline = time.monotonic() + seconds
        while not condition():
            assert not errors, errors
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def statuses():
        return {bid: read_json(zk, f"/batches/{bid}/status")["status"] for bid in zk.get_children("/batches")}

    admin("hold_collection", HELD_BY_DAG)
    zk.create(f"/locks/collections/{HELD_BY_MERRITT}", makepath=True)  # Merritt's own tool
    threads = [
        forever("merritt ingest", work),
        forever("merritt reporter", merritt_reporter.report),
        forever("dag reporting", dag_report),
        forever("monitor", monitor),
    ]
    for thread in threads:
        thread.start()
    try:
        ours = [stage(3, PROFILE, 1), stage(2, HELD_BY_DAG, 2), stage(2, HELD_BY_MERRITT, 3)]
        for profile, rows in [(PROFILE, 3), (HELD_BY_DAG, 2), (HELD_BY_MERRITT, 1)]:
            batch_id = merritt_worker.submit(profile, rows, "curator@example.org")
            expected_jobs[batch_id] = rows

        wait_for(lambda: len(zk.get_children("/jobs/states/held")) == 2 + 2 + 2 + 1, "the held jobs")
        wait_for(lambda: sorted(statuses().values()).count("Completed") == 2, "the unheld batches reported")
        held_batches = {bid: state for bid, state in statuses().items() if state != "Completed"}
        assert sorted(held_batches.values()) == ["Processing", "Processing", "Reporting", "Reporting"]
        assert ours[1]["state"] == ours[2]["state"] == "Processing"  # a hold holds jobs, never a batch

        released = admin("release_collection", HELD_BY_DAG)  # the DAG's release
        assert released["changes"][0]["node"] == f"/locks/collections/{HELD_BY_DAG}"
        assert len(merritt_worker.release(HELD_BY_MERRITT)) == 3  # Merritt's own release
        wait_for(lambda: set(statuses().values()) == {"Completed"}, "every batch reported")
        time.sleep(1)  # a few more polls of both reporters: nothing is reported twice
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        for client in clients:
            client.stop()
            client.close()

    assert errors == []
    all_bids = sorted(zk.get_children("/batches"))
    assert len(all_bids) == 6 and sorted(dag_reported + merritt_reporter.reported) == all_bids  # each once
    # which reporter takes a batch is a race (both poll all the time); the lock makes it one of them
    mails = [message["subject"] for message in smtp.messages()[mail_before:]]
    for batch_id in expected_jobs:
        assert sum(batch_id in subject for subject in mails) == 1, (batch_id, mails)
    assert zk.get_children("/jobs/states/held") == [] and zk.get_children("/jobs/states/pending") == []
    assert len(zk.get_children("/jobs/states/completed")) == sum(expected_jobs.values())
    assert any(name.endswith("_ark_13030_j2rn30xp") for name in merritt_worker.local_id_locks)
