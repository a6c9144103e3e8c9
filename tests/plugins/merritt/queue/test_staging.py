"""Staging on the real ZooKeeper: exact layout, atomic staging, resumption, a changed manifest refused."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NoNodeError, SessionExpiredError
from kazoo.security import make_acl

from include.merritt.limits import find_oversize
from include.merritt.submission import batch_id_of, job_id_of
from preservation_pipelines.merritt.queue.staging import StagingRolledBack, SubmissionChanged
from preservation_pipelines.merritt.queue.zookeeper import QueueNodes, operation_bytes
from tests.include.merritt import support
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    PROFILE,
    QueueWorker,
    batch_manifest,
    connect,
    half_staged,
    read_json,
    submission_conf,
    zk,
    zk_chroot,
)

AT = datetime(2026, 11, 23, 10, 30, tzinfo=timezone(timedelta(hours=-5)))


def stage(client, conf, **options):
    return support.stage(client, conf, clock=lambda: AT, **options)


def test_a_staged_batch_has_exactly_the_spec_layout(zk):
    result = stage(zk, submission_conf(1, submission_uuid="u-1", title="One"))
    batch_id = batch_id_of("u-1")

    assert (result.bid, result.first_jid, result.state, result.jobs, result.batch_id) == (
        "bid0000000000",
        "jid0000000001",
        "Processing",
        1,
        batch_id,
    )
    # /jobs/states counts as /jobs' first child, so the first job is jid0000000001
    assert zk.get_children("/batch-uuids") == [batch_id] and batch_id.startswith("bid-")
    assert zk.get(f"/batch-uuids/{batch_id}")[0] == b"bid0000000000"
    submission = read_json(zk, "/batches/bid0000000000/submission")
    assert submission == {
        "batchID": batch_id,
        "profile": PROFILE,
        "type": "batchManifest",
        "submitter": "jdoe@example.org",
        "filename": "",
        "submissionDate": "2026-11-23 10:30:00 -0500",
        "update": False,
        "notificationFormat": "xml",
        "title": "One",
    }
    assert read_json(zk, "/batches/bid0000000000/status") == {
        "status": "Processing",
        "last_modified": "2026-11-23 10:30:00 -0500",
        "message": "",
    }
    assert sorted(zk.get_children("/batches/bid0000000000")) == ["states", "status", "submission"]
    assert zk.get_children("/batches/bid0000000000/states") == ["batch-processing"]
    assert zk.get_children("/batches/bid0000000000/states/batch-processing") == ["jid0000000001"]
    assert zk.get("/batches/bid0000000000/states")[0] == b""
    job = "/jobs/jid0000000001"
    assert sorted(zk.get_children(job)) == [
        "bid",
        "configuration",
        "identifiers",
        "metadata",
        "priority",
        "space_needed",
        "status",
    ]
    assert [zk.get(f"{job}/{name}")[0] for name in ("bid", "priority", "space_needed")] == [
        b"bid0000000000",
        b"5",
        b"0",
    ]
    assert json.loads(zk.get(f"{job}/status")[0]) == {
        "status": "Pending",
        "last_modified": "2026-11-23 10:30:00 -0500",
        "message": "",
        "last_successful_status": None,
        "retry_count": 0,  # a JSON integer
    }
    configuration = read_json(zk, f"{job}/configuration")
    assert configuration["jobID"] == job_id_of(batch_id, 0) and configuration["batchID"] == batch_id
    assert (configuration["type"], configuration["filename"], configuration["title"]) == (
        "manifest",
        "000000.checkm",
        "Object 0",
    )
    assert configuration["update"] is False and configuration["profile"] == PROFILE
    assert configuration["payload_url"] == "https://example.org/objects/000000.checkm"
    assert read_json(zk, f"{job}/identifiers") == {"primary_id": "", "local_id": ["loc000000"]}
    assert zk.get_children("/jobs/states/pending") == ["05-jid0000000001"]


def test_staging_the_same_submission_again_writes_nothing(zk):
    conf = submission_conf(4)
    first = stage(zk, conf)
    nodes_before = zk.get_children("/jobs")
    again = stage(zk, conf)

    assert again.already_staged and again.bid == first.bid and again.jobs == 4 and again.jobs_created == 0
    assert zk.get_children("/jobs") == nodes_before
    assert len(zk.get_children("/jobs/states/pending")) == 4
    assert zk.get_children("/batch-uuids") == [batch_id_of(conf["submission_uuid"])]


def test_a_held_collection_stages_its_jobs_held_and_the_batch_processing(zk):
    zk.create(f"/locks/collections/{PROFILE}", makepath=True)
    result = stage(zk, submission_conf(2))

    assert result.state == "Processing"
    assert read_json(zk, f"/batches/{result.bid}/status")["status"] == "Processing"
    assert sorted(zk.get_children("/jobs/states/held")) == ["11-jid0000000001", "11-jid0000000002"]
    assert zk.get_children("/jobs/states/pending") == []
    assert sorted(zk.get_children(f"/batches/{result.bid}/states/batch-processing")) == [
        "jid0000000001",
        "jid0000000002",
    ]
    status = read_json(zk, "/jobs/jid0000000001/status")
    assert (status["status"], status["last_successful_status"], status["retry_count"]) == ("Held", "Pending", 0)


def _partial_batches_seen(client: KazooClient, expected_jobs: int) -> list[str]:
    """What a reader could see of an unfinished batch: each finding is a broken promise."""
    problems = []
    for bid in client.get_children("/batches"):
        if client.exists(f"/batches/{bid}/status") is None:
            problems.append(f"{bid} without status")  # Merritt's consumers and reporter throw on it
        try:
            jids = client.get_children(f"/batches/{bid}/states/batch-processing")
        except NoNodeError:
            continue  # no reporter takes it, and none of its jobs is queued yet
        if not jids:
            problems.append(f"{bid} has an empty batch-processing: every reporter would take it as finished")
        for jid in jids[:: max(1, len(jids) // 25)]:
            if len(client.get_children(f"/jobs/{jid}")) < 7:
                problems.append(f"{jid} of {bid} incomplete")
    for entry in client.get_children("/jobs/states/pending"):
        jid = entry.split("-", 1)[1]
        try:
            bid = client.get(f"/jobs/{jid}/bid")[0].decode()
        except NoNodeError:
            problems.append(f"queued {jid} has no bid")
            continue
        listed = len(client.get_children(f"/batches/{bid}/states/batch-processing"))
        if listed != expected_jobs:
            problems.append(f"queued {jid} belongs to {bid}, which lists {listed} of {expected_jobs} jobs")
    return problems


def test_a_reader_polling_during_a_large_staging_never_sees_a_partial_batch(zookeeper, zk, zk_chroot):
    jobs = 2000
    QueueNodes(zk).ensure_layout()
    reader_client = connect(zookeeper.port, zk_chroot)
    problems, polls, done = [], [0], threading.Event()

    def read_until_done():
        while not done.is_set():
            problems.extend(_partial_batches_seen(reader_client, jobs))
            polls[0] += 1

    reader = threading.Thread(target=read_until_done)
    reader.start()
    try:  # small transactions: many of them, so the reader gets to look between them
        result = stage(zk, submission_conf(jobs), max_transaction_bytes=40_000)
    finally:
        done.set()
        reader.join()
        reader_client.stop()
        reader_client.close()

    assert result.transactions > 20 and polls[0] > 3
    assert problems == []
    assert len(zk.get_children("/jobs/states/pending")) == jobs
    assert len(zk.get_children("/jobs")) == jobs + 1


def _expire(client: KazooClient, port: int, chroot: str) -> None:
    """End ``client``'s session from outside, as a server-side expiry would."""
    session_id, password = client.client_id
    twin = KazooClient(hosts=f"127.0.0.1:{port}{chroot}", client_id=(session_id, password))
    twin.start(timeout=10)
    twin.stop()
    twin.close()


@pytest.mark.parametrize("kill_during", ["jobs created", "jobs queued"])
def test_a_session_expiring_mid_staging_leaves_no_partial_batch_and_a_retry_completes_it(
    zookeeper, zk, zk_chroot, kill_during
):
    jobs, killed = 600, []

    def kill_once(step, done, total):
        if step == kill_during and not killed:
            killed.append(done)
            _expire(zk, zookeeper.port, zk_chroot)

    conf = submission_conf(jobs)
    with pytest.raises((SessionExpiredError, ConnectionLoss)):  # the request in flight may see either
        stage(zk, conf, max_transaction_bytes=30_000, progress=kill_once)
    assert 0 < killed[0] < jobs

    observer = connect(zookeeper.port, zk_chroot)
    try:
        assert _partial_batches_seen(observer, jobs) == []
        (bid,) = observer.get_children("/batches")
        published = observer.get_children("/jobs/states/pending") != []
        assert published is (kill_during == "jobs queued")
        result = stage(observer, conf)  # the retry: a new session
    finally:
        observer.stop()
        observer.close()
    client = connect(zookeeper.port, zk_chroot)
    try:
        assert result.bid == bid and result.jobs == jobs
        assert result.jobs_created == (0 if published else jobs - killed[0])
        assert len(client.get_children(f"/batches/{bid}/states/batch-processing")) == jobs
        assert len(client.get_children("/jobs/states/pending")) == jobs
        assert len(client.get_children("/jobs")) == jobs + 1  # no job written twice
    finally:
        client.stop()
        client.close()


def test_zookeeper_stopping_mid_staging_leaves_no_partial_batch_and_a_retry_completes_it(
    devstack, zookeeper, zk, zk_chroot
):
    """The staging client waits for the server (or loses its session); either way nothing partial shows.

    The server is stopped and restarted from the test's own thread: devstack servers die
    with the thread that started them.
    """
    jobs, outcome = 600, {}
    first_chunk_done, server_stopped = threading.Event(), threading.Event()

    def pause_after_first_chunk(step, done, total):
        if step == "jobs created" and not first_chunk_done.is_set():
            outcome["stopped_after"] = done
            first_chunk_done.set()
            server_stopped.wait(30)

    def run_staging():
        try:
            outcome["result"] = stage(zk, conf, max_transaction_bytes=30_000, progress=pause_after_first_chunk)
        except (ConnectionLoss, SessionExpiredError) as error:
            outcome["result"] = error

    conf = submission_conf(jobs)
    staging = threading.Thread(target=run_staging)
    staging.start()
    assert first_chunk_done.wait(30)
    devstack.stop(["zookeeper"])
    try:
        server_stopped.set()
        staging.join(2)  # staging now talks to a stopped server
        assert staging.is_alive() or isinstance(outcome["result"], Exception)
    finally:
        devstack.start(["zookeeper"])
    staging.join(60)
    assert not staging.is_alive() and 0 < outcome["stopped_after"] < jobs

    observer = connect(zookeeper.port, zk_chroot)
    try:
        assert _partial_batches_seen(observer, jobs) == []
        result = stage(observer, conf)
        assert result.jobs == jobs
        assert len(observer.get_children("/jobs")) == jobs + 1
        assert len(observer.get_children("/jobs/states/pending")) == jobs
    finally:
        observer.stop()
        observer.close()


def test_workers_consume_a_staged_batch_and_two_in_parallel_never_take_the_same_job(zookeeper, zk, zk_chroot):
    stage(zk, submission_conf(40))
    workers = [QueueWorker(connect(zookeeper.port, zk_chroot)) for _ in range(2)]
    threads = [threading.Thread(target=worker.run_all) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [worker.taken for worker in workers]
    for worker in workers:
        worker.client.stop()
        worker.client.close()

    assert not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == sorted(zk.get_children("/batches/bid0000000000/states/batch-completed"))
    assert len(taken[0]) + len(taken[1]) == 40
    assert zk.get_children("/jobs/states/pending") == []


def test_workers_take_the_most_urgent_job_first(zk):
    stage(zk, submission_conf(3))  # priority 15
    urgent = stage(zk, submission_conf(1, priority=0))
    assert QueueWorker(zk).run_one() == urgent.first_jid


def test_two_runs_staging_the_same_submission_at_once_write_each_job_once(zookeeper, zk, zk_chroot):
    conf, results, errors = submission_conf(400), [], []
    QueueNodes(zk).ensure_layout()
    clients = [connect(zookeeper.port, zk_chroot) for _ in range(2)]

    def run(client):
        try:
            results.append(stage(client, conf, max_transaction_bytes=20_000))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.stop()
        client.close()

    assert errors == []
    assert {result.bid for result in results} == {"bid0000000000"}
    assert sum(result.jobs_created for result in results) == 400
    assert len(zk.get_children("/jobs")) == 401
    assert len(zk.get_children("/jobs/states/pending")) == 400
    assert zk.get("/batches/bid0000000000/states")[0] == b""


def test_a_resumed_staging_keeps_the_hold_decision_of_the_interrupted_run(zookeeper, zk, zk_chroot):
    conf = submission_conf(300)
    half_staged(zk, conf)
    zk.create(f"/locks/collections/{PROFILE}", makepath=True)  # held only after staging began
    result = stage(zk, conf)

    assert result.state == "Processing" and result.jobs == 300
    assert len(zk.get_children("/jobs/states/pending")) == 300 and zk.get_children("/jobs/states/held") == []
    statuses = {read_json(zk, f"/jobs/{jid}/status")["status"] for jid in ("jid0000000001", "jid0000000300")}
    assert statuses == {"Pending"}


def test_a_retry_with_a_changed_manifest_is_refused_and_writes_nothing(zk):
    """The batch of a submission is staged from one manifest: a retry given another cannot finish it."""
    conf = submission_conf(300)
    half_staged(zk, conf)
    (bid,) = zk.get_children("/batches")
    created = sorted(zk.get_children(f"/batches/{bid}/states/batch-processing"))
    assert 0 < len(created) < 300

    changed_row = {**conf, "payload": conf["payload"].replace("objects/000001.checkm", "objects/changed.checkm")}
    fewer_rows = {**conf, "payload": batch_manifest(len(created) - 1)}
    for changed in (changed_row, fewer_rows):
        with pytest.raises(SubmissionChanged, match=f"/batches/{bid}|/jobs/jid"):
            stage(zk, changed)
        assert sorted(zk.get_children(f"/batches/{bid}/states/batch-processing")) == created  # nothing written
        assert zk.get_children("/jobs/states/pending") == []

    result = stage(zk, conf)  # the manifest the batch was begun from finishes it
    assert (result.bid, result.jobs, result.state) == (bid, 300, "Processing")
    assert read_json(zk, "/jobs/jid0000000002/configuration")["payload_url"].endswith("objects/000001.checkm")


def test_a_write_zookeeper_refuses_mid_staging_rolls_the_batch_back(zk):
    """Not a lost race nor a lost session: ZooKeeper refuses a job transaction (here /jobs stops taking creates)."""
    conf, refused_from = submission_conf(300), []
    QueueNodes(zk).ensure_layout()
    open_acl = zk.get_acls("/jobs")[0]

    def refuse_creates_after_first_chunk(step, done, total):
        if step == "jobs created" and not refused_from:
            refused_from.append(done)
            zk.set_acls("/jobs", [make_acl("world", "anyone", read=True, write=True, delete=True, admin=True)])

    try:
        with pytest.raises(StagingRolledBack, match=r"create /jobs/jid\d+ refused \(NoAuthError\).*rolled back"):
            stage(zk, conf, max_transaction_bytes=30_000, progress=refuse_creates_after_first_chunk)
    finally:
        zk.set_acls("/jobs", open_acl)
    assert 0 < refused_from[0] < 300
    assert zk.get_children("/batches") == [] and zk.get_children("/batch-uuids") == []
    assert zk.get_children("/jobs") == ["states"]

    result = stage(zk, conf)  # the retry starts afresh and stages it whole
    assert (result.jobs, result.jobs_created, result.state) == (300, 300, "Processing")
    assert len(zk.get_children("/jobs/states/pending")) == 300


def test_validation_measures_exactly_the_largest_transaction_staging_commits(zk, monkeypatch):
    """Held jobs (the longer status), one job per transaction: the largest commit is what validation measured."""
    zk.create(f"/locks/collections/{PROFILE}", makepath=True)
    conf = submission_conf(3, title="T" * 2_000)
    validated = support.plan(conf)
    committed, original_commit = [], QueueNodes.commit

    def record(nodes, operations, what):
        committed.append(sum(operation_bytes(operation) for operation in operations))
        original_commit(nodes, operations, what)

    monkeypatch.setattr(QueueNodes, "commit", record)
    stage(zk, conf, max_transaction_bytes=1)  # every job alone in its transaction
    assert len(zk.get_children("/jobs/states/held")) == 3
    largest = max(committed)
    assert find_oversize(validated.submission, validated.jobs, max_transaction_bytes=largest) is None
    assert find_oversize(validated.submission, validated.jobs, max_transaction_bytes=largest - 1) is not None
