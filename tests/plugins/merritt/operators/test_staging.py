"""The staging operator against the real ZooKeeper: bad input, manifests behind URLs, lost sessions."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException
from kazoo.client import KazooClient

from include.merritt.fetch import FetchFailed
from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperError
from preservation_pipelines.merritt.operators.staging import MerrittStagingOperator
from preservation_pipelines.merritt.queue.zookeeper import QueueNodes
from tests.include.merritt import support
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    batch_manifest,
    connect,
    merritt_conn,
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


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        (submission_conf(2, profile="nobody"), "profile: unknown collection profile 'nobody'"),
        (submission_conf(2, payload="#%checkm_0.7\n#%fields | nfo:fileUrl\n#%eof\n"), "no rows"),
        (
            submission_conf(2, payload=batch_manifest(2).replace("md5 | 0000", "md5 | zz00")),
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
    web.pages["/small.checkm"] = batch_manifest(5).encode()
    web.pages["/huge.checkm"] = batch_manifest(60_000).encode()
    assert len(web.pages["/huge.checkm"]) > 5 * 1024 * 1024

    summary = stage(submission_conf(payload=web.url + "/small.checkm"))
    assert (summary["jobs"], summary["manifest_rows"]) == (5, 5)
    with pytest.raises(AirflowFailException, match="over the 5 MB limit"):
        stage(submission_conf(payload=web.url + "/huge.checkm"))
    assert len(zk.get_children("/batches")) == 1


def test_zookeeper_down_fails_the_try_and_the_next_try_stages(devstack, zookeeper, merritt_conn):
    conf = submission_conf(3)
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


def test_a_session_expiring_mid_run_is_resumed_within_the_same_try(zookeeper, merritt_conn, zk, monkeypatch):
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
    summary = stage(submission_conf(800))  # the jobs take two transactions: the session ends after the first

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
    first, changed = batch_manifest(4), batch_manifest(6, start=100)
    web.pages["/moving.checkm"] = [first.encode(), changed.encode()]

    summary = stage(submission_conf(payload=web.url + "/moving.checkm"))

    assert web.gets == ["/moving.checkm"]
    assert (summary["manifest_rows"], summary["jobs"], summary["already_staged"]) == (4, 4, False)
    staged = sorted(zk.get_children(f"/batches/{summary['bid']}/states/batch-processing"))
    assert [read_json(zk, f"/jobs/{jid}/configuration")["payload_url"] for jid in staged] == [
        f"https://example.org/objects/{n:06d}.checkm" for n in range(4)
    ]


def test_finishing_a_batch_begun_from_another_manifest_fails_without_retry(merritt_conn, zk):
    conf = submission_conf(300)

    def interrupt(step, done, total):
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        support.stage(zk, conf, max_transaction_bytes=30_000, progress=interrupt)
    (bid,) = zk.get_children("/batches")
    begun = sorted(zk.get_children(f"/batches/{bid}/states/batch-processing"))

    with pytest.raises(AirflowFailException, match=f"refused: .*{bid} was begun from other content"):
        stage({**conf, "payload": batch_manifest(300, start=1)})
    assert sorted(zk.get_children(f"/batches/{bid}/states/batch-processing")) == begun
    assert zk.exists(f"/batches/{bid}/status") is None


def test_a_manifest_url_on_a_private_address_is_refused_at_once_unless_allowed(merritt_conn, zk, web, monkeypatch):
    web.pages["/m.checkm"] = batch_manifest(2).encode()
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
