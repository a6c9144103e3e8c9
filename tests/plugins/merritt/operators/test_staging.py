"""The staging operator against the real ZooKeeper: bad input, manifests behind URLs, lost sessions."""

from __future__ import annotations

import hashlib
import json
import os
import re
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException
from kazoo.client import KazooClient

from include.merritt.fetch import FetchFailed
from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperError
from preservation_pipelines.merritt.operators.staging import MerrittStagingOperator, staging_routing
from preservation_pipelines.merritt.queue.zookeeper import QueueNodes
from tests.include.merritt import support
from tests.include.merritt.support import (  # noqa: F401 - fixtures
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


def context(conf=None, run_id="manual__2026-11-23T10:30:00+00:00"):
    return {"params": conf or {}, "dag": SimpleNamespace(dag_id="merritt_ingest_staging"), "run_id": run_id}


def stage(conf, **kwargs):
    return MerrittStagingOperator(task_id="stage_batch", **kwargs).execute(context(conf))


def served(web, rows: int, **overrides) -> dict:
    """A submission whose rows' payloads the web fixture serves."""
    return submission_conf(rows, payload=batch_manifest(rows, base=web.url), **overrides)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        (submission_conf(2, profile="nobody"), "profile: unknown collection profile 'nobody'"),
        (submission_conf(2, payload="#%checkm_0.7\n#%fields | nfo:fileUrl\n#%eof\n"), "no rows"),
        (
            submission_conf(2, payload=batch_manifest(2).replace("| md5 | ", "| md5 | zz", 1)),
            "manifest line 4: md5 hash",
        ),
        (submission_conf(2, type="file", payload="not a url"), "payload: a file submission needs an http(s) URL"),
    ],
)
def test_bad_submissions_fail_without_retry_naming_what_is_wrong(merritt_conn, zk, conf, message):
    with pytest.raises(AirflowFailException, match=re.escape(message)):
        stage(conf)
    assert not zk.exists("/batches") or zk.get_children("/batches") == []


def test_a_manifest_behind_a_url_is_fetched_and_one_over_5_mb_refused(merritt_conn, zk, web):
    web.pages["/small.checkm"] = batch_manifest(5, base=web.url).encode()
    web.pages["/huge.checkm"] = batch_manifest(60_000).encode()
    assert len(web.pages["/huge.checkm"]) > 5 * 1024 * 1024

    summary = stage(submission_conf(payload=web.url + "/small.checkm"))
    assert (summary["jobs"], summary["manifest_rows"]) == (5, 5)
    with pytest.raises(AirflowFailException, match="over the 5 MB limit"):
        stage(submission_conf(payload=web.url + "/huge.checkm"))
    assert len(zk.get_children("/batches")) == 1


def test_zookeeper_down_fails_the_try_and_the_next_try_stages(devstack, zookeeper, merritt_conn, web):
    conf = served(web, 3)
    devstack.stop(["zookeeper"])
    try:
        with pytest.raises(MerrittZooKeeperError, match="did not answer within 5s"):
            stage(conf)
    finally:
        devstack.start(["zookeeper"])
    waiter = connect(zookeeper.port)  # the next try comes minutes later; here, wait until sessions are served
    waiter.stop()
    waiter.close()
    summary = stage(conf)
    assert (summary["jobs"], summary["already_staged"]) == (3, False)


def test_a_session_expiring_mid_run_is_resumed_within_the_same_try(zookeeper, merritt_conn, zk, web, monkeypatch):
    original_commit, expired = QueueNodes.commit, []

    def commit_then_expire(nodes, operations, what):
        original_commit(nodes, operations, what)
        if what.startswith("create jobs") and not expired:
            expired.append(what)
            session_id, password = nodes.client.client_id
            twin = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}{merritt_conn}", client_id=(session_id, password))
            twin.start(timeout=10)
            twin.stop()
            twin.close()

    monkeypatch.setattr(QueueNodes, "commit", commit_then_expire)
    summary = stage(served(web, 800))  # the jobs take two transactions: the session ends after the first

    assert expired and summary["jobs"] == 800
    assert len(zk.get_children("/jobs")) == 801
    assert len(zk.get_children("/jobs/states/pending")) == 800


def test_without_the_profiles_variable_nothing_is_staged(merritt_conn, zk, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_MERRITT_PROFILES")
    with pytest.raises(AirflowFailException, match="Variable merritt_profiles must hold the JSON list"):
        stage(submission_conf(1))
    assert zk.exists("/batches") is None


def test_a_manifest_behind_a_url_is_fetched_once_and_what_was_fetched_is_staged(merritt_conn, zk, web):
    """The server answers a different manifest from the second GET on: it is never asked again."""
    first, changed = batch_manifest(4, base=web.url), batch_manifest(6, start=100, base=web.url)
    web.pages["/moving.checkm"] = [first.encode(), changed.encode()]

    summary = stage(submission_conf(payload=web.url + "/moving.checkm"))

    assert web.gets.count("/moving.checkm") == 1
    assert (summary["manifest_rows"], summary["jobs"], summary["already_staged"]) == (4, 4, False)
    staged = sorted(zk.get_children(f"/batches/{summary['bid']}/states/batch-processing"))
    assert [read_json(zk, f"/jobs/{jid}/configuration")["payload_url"] for jid in staged] == [
        f"{web.url}/objects/{n:06d}.checkm" for n in range(4)
    ]


def test_finishing_a_batch_begun_from_another_manifest_fails_without_retry(merritt_conn, zk, web, queue_root):
    conf = served(web, 300)

    def interrupt(step, done, total):
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        support.stage(zk, conf, max_transaction_bytes=30_000, progress=interrupt)
    (bid,) = zk.get_children("/batches")
    begun = sorted(zk.get_children(f"/batches/{bid}/states/batch-processing"))

    with pytest.raises(AirflowFailException, match=f"refused: .*{bid} was begun from other content"):
        stage({**conf, "payload": batch_manifest(300, start=1, base=web.url)})
    assert sorted(zk.get_children(f"/batches/{bid}/states/batch-processing")) == begun
    assert zk.get_children("/jobs/states/pending") == []
    assert list(queue_root.iterdir()) == [] and not any("/objects/" in get for get in web.gets)  # nothing fetched


def test_a_manifest_url_on_a_private_address_is_refused_at_once_unless_allowed(merritt_conn, zk, web, monkeypatch):
    web.pages["/m.checkm"] = batch_manifest(2, base=web.url).encode()
    monkeypatch.delenv("AIRFLOW_VAR_MERRITT_FETCH_ALLOWED_NETWORKS")
    with pytest.raises(AirflowFailException, match="127.0.0.1 is not a public address"):
        stage(submission_conf(payload=web.url + "/m.checkm"))
    assert web.gets == [] and zk.exists("/batches") is None

    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_FETCH_ALLOWED_NETWORKS", '["10.0.0.0/8", "not a network"]')
    with pytest.raises(AirflowFailException, match="merritt_fetch_allowed_networks: 'not a network' is not a network"):
        stage(submission_conf(payload=web.url + "/m.checkm"))

    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_FETCH_ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    assert stage(submission_conf(payload=web.url + "/m.checkm"))["jobs"] == 2


def test_what_a_url_answers_is_never_echoed_and_a_server_error_is_retried(merritt_conn, zk, web):
    web.pages["/passwd"] = b"root:x:0:0:SECRET:/root:/bin/sh\n"

    def unavailable(handler):
        handler.send_response(503)
        handler.end_headers()
        handler.wfile.write(b"SECRET")

    web.handlers["/busy.checkm"] = unavailable
    with pytest.raises(AirflowFailException, match="missing '#%checkm_0.7' header") as refused:
        stage(submission_conf(payload=web.url + "/passwd"))
    assert "SECRET" not in str(refused.value)
    with pytest.raises(FetchFailed, match="HTTP 503") as failed:  # not AirflowFailException: Airflow retries it
        stage(submission_conf(payload=web.url + "/busy.checkm"))
    assert "SECRET" not in str(failed.value)
    assert zk.exists("/batches") is None


def test_a_cell_too_big_for_zookeeper_fails_at_once_and_nothing_is_claimed(merritt_conn, zk):
    """Formerly: validation passed, staging failed after the claim and left a batch no retry could finish."""
    manifest = batch_manifest(3).replace("Object 1", "T" * 1_100_000)
    with pytest.raises(AirflowFailException, match=r"manifest line 5: this row's job is [\d,]+ bytes .*title"):
        stage(submission_conf(payload=manifest))
    assert zk.exists("/batches") is None or zk.get_children("/batches") == []


def test_a_variable_that_is_not_json_fails_at_once(merritt_conn, zk, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_PROFILES", "[merritt_demo_content")
    with pytest.raises(AirflowFailException, match="Variable merritt_profiles is not valid JSON"):
        stage(submission_conf(1))


# -- the payload contract: each job's payload file in <queue root>/<batchID>/<jobID>/ before it is queued ---------


def test_each_jobs_payload_is_in_its_directory_under_the_queue_root(merritt_conn, zk, web, queue_root):
    summary = stage(served(web, 3))

    batch_directory = queue_root / summary["batch_id"]
    for n, jid in enumerate(sorted(zk.get_children(f"/batches/{summary['bid']}/states/batch-processing"))):
        configuration = read_json(zk, f"/jobs/{jid}/configuration")
        job_directory = batch_directory / configuration["jobID"]
        assert [path.name for path in job_directory.iterdir()] == [configuration["filename"]]  # nothing else
        assert (job_directory / configuration["filename"]).read_bytes() == support.object_payload(n)
    assert summary["payloads_fetched"] == 3

    again = stage(served(web, 3, submission_uuid=summary["submission_uuid"]))
    assert again["already_staged"] and again["payloads_fetched"] == 0  # every job exists: its file is kept


def test_a_file_submission_puts_the_file_itself_there_and_a_wrong_digest_is_refused(merritt_conn, zk, web, queue_root):
    web.pages["/scans/page1.tif"] = b"II*\x00" + b"\x01" * 5000
    good = hashlib.sha256(web.pages["/scans/page1.tif"]).hexdigest()
    conf = submission_conf(type="file", payload=web.url + "/scans/page1.tif", digest_type="sha-256")

    with pytest.raises(AirflowFailException, match=r"nothing staged: payload: .*sha-256 is [0-9a-f]{64}, not 0{64}"):
        stage({**conf, "digest_value": "0" * 64})
    assert zk.exists("/batches") is None and list(queue_root.iterdir()) == []

    summary = stage({**conf, "digest_value": good})
    configuration = read_json(zk, f"/jobs/{summary['first_jid']}/configuration")
    assert (configuration["type"], configuration["filename"], configuration["digestValue"]) == (
        "file",
        "page1.tif",
        good,
    )
    stored = queue_root / summary["batch_id"] / configuration["jobID"] / "page1.tif"
    assert stored.read_bytes() == web.pages["/scans/page1.tif"]


def test_a_payload_url_that_answers_404_fails_at_once_and_leaves_nothing(merritt_conn, zk, web, queue_root):
    conf = served(web, 3)
    web.handlers["/objects/000001.checkm"] = lambda handler: (handler.send_response(404), handler.end_headers())

    with pytest.raises(AirflowFailException, match=r"nothing staged: payload: GET .*/objects/000001.checkm: HTTP 404"):
        stage(conf)
    assert zk.exists("/batches") is None and list(queue_root.iterdir()) == []


@pytest.mark.parametrize("setting", ["missing", "a file", "unset"])
def test_without_a_writable_queue_root_nothing_is_fetched_or_staged(
    merritt_conn, zk, web, queue_root, monkeypatch, setting
):
    connection = json.loads(os.environ["AIRFLOW_CONN_MERRITT_ZK"])
    (queue_root / "file").write_text("x")
    root = {"missing": str(queue_root / "missing"), "a file": str(queue_root / "file"), "unset": ""}[setting]
    connection["extra"]["queue_root"] = root
    monkeypatch.setenv("AIRFLOW_CONN_MERRITT_ZK", json.dumps(connection))
    message = "no queue root: set extra 'queue_root'" if setting == "unset" else f"queue root {root} is not a directory"

    with pytest.raises(AirflowFailException, match=re.escape(message)):  # fails without the task's retries
        stage(served(web, 2))
    assert web.gets == [] and zk.exists("/batches") is None

    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_QUEUE_ROOT", str(queue_root))  # the Variable, when the extra is unset
    if setting == "unset":
        assert stage(served(web, 2))["jobs"] == 2


def test_the_staging_task_is_routed_by_environment_variables_to_the_workers_mounting_the_queue_root():
    assert staging_routing({}) == {}
    assert staging_routing(
        {"AIRFLOW_VAR_MERRITT_STAGING_QUEUE": "merritt-ingest-fs", "AIRFLOW_VAR_MERRITT_STAGING_POOL": " "}
    ) == {"queue": "merritt-ingest-fs"}
