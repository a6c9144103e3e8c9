"""Fault injection under the real scheduler for the Merritt DAGs (ZooKeeper, SMTP): the
server is stopped during the run, the task's try fails, the server comes back, a clear
finishes the run, and the external state is checked.
The matrix is in docs/reliability.md.

The cluster's ``merritt_zk`` has no chroot, so these tests share ZooKeeper's root with each
other (and with ``make demo``'s seed): every assertion is about the batches a test staged,
found by bid, and the mail it expects, found by a recipient no other test uses.
"""

from __future__ import annotations

import itertools
import time
import uuid

import pytest

from include.merritt.states import BatchState
from include.merritt.submission import batch_id_of
from tests.dags import test_merritt_reporting_and_admin as merritt_dag_tests
from tests.include.merritt.support import (
    PIPELINE,
    QueueWorker,
    batch_manifest,
    connect,
    read_json,
    submission_conf,
    web,  # noqa: F401 - fixture: serves the rows' payloads on loopback (the local settings allow it)
)

FAILED_TRY = {"up_for_retry", "failed"}
STAGING, REPORTING, ADMIN = "merritt_ingest_staging", "merritt_batch_reporting", "merritt_queue_admin"
HELD_PROFILE = "merritt_demo_images"  # held only by the admin test, so staging tests never see a hold


@pytest.fixture
def merritt(api, zookeeper):
    """The Merritt DAGs parsed and unpaused with no earlier run, and a client on the root."""
    for dag_id in (STAGING, REPORTING, ADMIN):
        api.wait_for_dag(dag_id)
        api.unpause(dag_id)
        for run in api.runs(dag_id):
            api.call("DELETE", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}")
    client = connect(zookeeper.port)
    yield api, client
    client.stop()
    client.close()


def _reconnected(client) -> None:
    """Wait until the test's own client is back on the restarted ZooKeeper."""
    deadline = time.monotonic() + 30
    while not client.connected:
        assert time.monotonic() < deadline, "ZooKeeper not back after 30s"
        time.sleep(0.1)


def _mail_to(smtp, address: str) -> list[dict]:
    return [message for message in smtp.messages() if address in message["to"]]


def _batch_jobs(client, bid: str) -> list[str]:
    states = f"/batches/{bid}/states"
    return sorted(jid for folder in client.get_children(states) for jid in client.get_children(f"{states}/{folder}"))


def _finished_batch(client, *, fail_one: bool = False, **conf) -> tuple[str, str]:
    """A staged batch whose jobs a worker has run to the end: (bid, its notification address)."""
    address = f"curator-{uuid.uuid4().hex[:8]}@example.org"
    batch = merritt_dag_tests.stage(client, submission_conf(2, priority=0, notification=address, **conf))
    worker = QueueWorker(client)
    for n, jid in enumerate(_batch_jobs(client, batch.bid)):  # only this batch's jobs: the root is shared
        entry = f"00-{jid}"
        for old, new in itertools.pairwise(PIPELINE):
            if fail_one and n == 0 and old == "Storing":
                worker.move(jid, entry, old, "Failed", f"storing failed: GET 404 for {jid}")
                break
            worker.move(jid, entry, old, new)
    return batch.bid, address


# -- merritt_ingest_staging x ZooKeeper ----------------------------------------------


def test_staging_zookeeper_stopped_mid_staging(merritt, devstack, zookeeper, web):
    api, client = merritt
    jobs = 6000  # ~3 s of staging transactions (docs/merritt.md: 10,000 jobs in 4.4 s)
    conf = submission_conf(jobs, payload=batch_manifest(jobs, base=web.url))
    batch_id = batch_id_of(conf["submission_uuid"])
    run_id = api.trigger(STAGING, conf=conf)
    try:
        api.wait_for_task(STAGING, run_id, "stage_batch", {"running"}, timeout=120)
        deadline = time.monotonic() + 240  # the payloads are fetched first
        while client.exists(f"/batch-uuids/{batch_id}") is None:  # the batch is being written
            assert time.monotonic() < deadline, api.task_states(STAGING, run_id)
            time.sleep(0.05)
        devstack.stop(["zookeeper"])
        api.wait_for_task(STAGING, run_id, "stage_batch", FAILED_TRY, timeout=120)
    finally:
        devstack.start(["zookeeper"])
        _reconnected(client)
    bid = client.get(f"/batch-uuids/{batch_id}")[0].decode()
    # interrupted: nothing of it queued for the workers (its status is there from the first transaction)
    assert read_json(client, f"/batches/{bid}/status")["status"] == "Processing"
    queued = {entry.split("-", 1)[1] for entry in client.get_children("/jobs/states/pending")}
    begun = (
        client.get_children(f"/batches/{bid}/states/batch-processing")
        if client.exists(f"/batches/{bid}/states/batch-processing")
        else []
    )
    assert len(begun) < jobs, "the staging finished before ZooKeeper was stopped"
    assert not queued & set(begun)

    api.clear_tasks(STAGING, run_id, ["stage_batch"])
    assert api.wait_for_run(STAGING, run_id, timeout=180) == "success", api.task_states(STAGING, run_id)

    summary = api.xcom(STAGING, run_id, "stage_batch")
    assert (summary["bid"], summary["jobs"], summary["state"]) == (bid, jobs, "Processing")
    assert [b for b in client.get_children("/batch-uuids") if client.get(f"/batch-uuids/{b}")[0].decode() == bid] == [
        batch_id
    ]  # staged once
    jids = client.get_children(f"/batches/{bid}/states/batch-processing")
    assert len(jids) == len(set(jids)) == jobs
    assert read_json(client, f"/batches/{bid}/status")["status"] == "Processing"
    queued = [entry for entry in client.get_children("/jobs/states/pending") if entry.split("-", 1)[1] in set(jids)]
    assert len(queued) == jobs  # every job queued exactly once
    for jid in jids[:: jobs // 30]:  # each job whole
        assert client.get(f"/jobs/{jid}/bid")[0].decode() == bid
        assert read_json(client, f"/jobs/{jid}/status")["status"] == "Pending"


# -- merritt_batch_reporting x ZooKeeper, x SMTP ---------------------------------------


def _reported_once(client, smtp, bid: str, address: str, outcome: str) -> None:
    assert read_json(client, f"/batches/{bid}/status")["status"] == outcome
    assert client.exists(f"/batches/{bid}/lock") is None
    (mail,) = _mail_to(smtp, address)
    assert f"{outcome}: " in mail["subject"]


def test_batch_reporting_zookeeper_stopped(merritt, devstack, smtp):
    api, client = merritt
    completed, completed_to = _finished_batch(client)
    failed, failed_to = _finished_batch(client, fail_one=True)
    devstack.stop(["zookeeper"])
    try:
        run_id = api.trigger(REPORTING)
        api.wait_for_task(REPORTING, run_id, "report_finished_batches", FAILED_TRY, timeout=120)
    finally:
        devstack.start(["zookeeper"])
        _reconnected(client)
    assert _mail_to(smtp, completed_to) == [] and _mail_to(smtp, failed_to) == []

    api.clear_tasks(REPORTING, run_id, ["report_finished_batches"])
    assert api.wait_for_run(REPORTING, run_id, timeout=180) == "success", api.task_states(REPORTING, run_id)
    _reported_once(client, smtp, completed, completed_to, BatchState.COMPLETED.value)
    _reported_once(client, smtp, failed, failed_to, BatchState.FAILED.value)
    reported = {r["bid"]: r["outcome"] for r in api.xcom(REPORTING, run_id, "report_finished_batches")["reported"]}
    assert (reported[completed], reported[failed]) == ("Completed", "Failed")


def test_batch_reporting_smtp_stopped(merritt, devstack, smtp):
    api, client = merritt
    bid, address = _finished_batch(client)
    devstack.stop(["smtp"])
    try:
        run_id = api.trigger(REPORTING)
        api.wait_for_task(REPORTING, run_id, "report_finished_batches", FAILED_TRY, timeout=120)
        # not reported: the batch waits in Reporting, unlocked, for the next try
        assert read_json(client, f"/batches/{bid}/status")["status"] == BatchState.REPORTING.value
        assert client.exists(f"/batches/{bid}/lock") is None
    finally:
        devstack.start(["smtp"])

    api.clear_tasks(REPORTING, run_id, ["report_finished_batches"])
    assert api.wait_for_run(REPORTING, run_id, timeout=180) == "success", api.task_states(REPORTING, run_id)
    _reported_once(client, smtp, bid, address, BatchState.COMPLETED.value)


# -- merritt_queue_admin x ZooKeeper ----------------------------------------------------


def test_queue_admin_zookeeper_stopped(merritt, devstack, zookeeper):
    api, client = merritt
    client.ensure_path(f"/locks/collections/{HELD_PROFILE}")
    jobs = 300
    held = merritt_dag_tests.stage(client, submission_conf(jobs, profile=HELD_PROFILE))
    assert held.state == "Processing" and len(client.get_children("/jobs/states/held")) >= jobs  # jobs held
    devstack.stop(["zookeeper"])
    try:
        run_id = api.trigger(ADMIN, conf={"action": "release_collection", "target": HELD_PROFILE})
        api.wait_for_task(ADMIN, run_id, "run_admin_action", FAILED_TRY, timeout=120)
    finally:
        devstack.start(["zookeeper"])
        _reconnected(client)
    assert client.exists(f"/locks/collections/{HELD_PROFILE}") is not None  # nothing was changed

    api.clear_tasks(ADMIN, run_id, ["run_admin_action"])
    assert api.wait_for_run(ADMIN, run_id, timeout=180) == "success", api.task_states(ADMIN, run_id)
    assert client.exists(f"/locks/collections/{HELD_PROFILE}") is None
    assert read_json(client, f"/batches/{held.bid}/status")["status"] == "Processing"
    jids = set(client.get_children(f"/batches/{held.bid}/states/batch-processing"))
    assert len(jids) == jobs
    held_left = [e for e in client.get_children("/jobs/states/held") if e.split("-", 1)[1] in jids]
    pending = [e for e in client.get_children("/jobs/states/pending") if e.split("-", 1)[1] in jids]
    assert (held_left, len(pending)) == ([], jobs)  # every job moved, once
    for jid in sorted(jids)[:: jobs // 10]:
        assert read_json(client, f"/jobs/{jid}/status")["status"] == "Pending"
