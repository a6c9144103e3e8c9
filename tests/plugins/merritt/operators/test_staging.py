"""The Merritt operators against the real ZooKeeper and SMTP sink: bad input, lost sessions, corrupt nodes."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from kazoo.client import KazooClient

from preservation_pipelines.merritt.hooks.zookeeper import (
    MerrittZooKeeperError,
    MerrittZooKeeperHook,
    connection_string,
)
from preservation_pipelines.merritt.operators.queue import (
    MerrittBatchReportingOperator,
    MerrittQueueAdminOperator,
    MerrittSubmissionOperator,
)
from preservation_pipelines.merritt.queue import MerrittQueue
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    QueueWorker,
    batch_manifest,
    connect,
    merritt_conn,
    read_json,
    submission_conf,
    zk,
    zk_chroot,
)


def context(conf=None, run_id="manual__2026-11-23T10:30:00+00:00"):
    return {"params": conf or {}, "dag": SimpleNamespace(dag_id="merritt_ingest_staging"), "run_id": run_id}


def stage(conf, **kwargs):
    return MerrittSubmissionOperator(task_id="stage_batch", stage=True, **kwargs).execute(context(conf))


@pytest.fixture
def web():
    """A local web server: put bytes in ``web.pages[path]``, fetch ``web.url + path``."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            if body is not None:
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(pages=pages, url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()


def test_connection_strings_take_host_lists_ports_and_chroots():
    assert connection_string("zk1,zk2:2182, zk3", 2181, "/merritt") == "zk1:2181,zk2:2182,zk3:2181/merritt"
    assert connection_string("127.0.0.1", None, "") == "127.0.0.1:2181"
    with pytest.raises(MerrittZooKeeperError, match="no host"):
        connection_string(" , ", 2181, None)


def test_the_hook_connects_through_a_host_list_into_the_chroot_from_the_extra(zookeeper, merritt_conn, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MERRITT_ZK",
        f'{{"conn_type": "generic", "host": "127.0.0.1, localhost", "port": {zookeeper.port}, '
        f'"extra": {{"chroot": "{merritt_conn}"}}}}',
    )
    with MerrittZooKeeperHook() as hook:
        assert hook.get_conn().chroot == merritt_conn
        hook.get_conn().create("/through-the-hook")
    with MerrittZooKeeperHook() as hook:
        assert hook.get_conn().exists("/through-the-hook")


def test_a_missing_chroot_is_named(zookeeper, merritt_conn, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MERRITT_ZK",
        f'{{"conn_type": "generic", "host": "127.0.0.1", "port": {zookeeper.port}, "schema": "no-such-chroot"}}',
    )
    with pytest.raises(MerrittZooKeeperError, match="chroot /no-such-chroot does not exist"):
        MerrittZooKeeperHook().get_conn()


def test_the_hook_authenticates_with_digest_credentials_from_the_connection(zookeeper, merritt_conn, monkeypatch):
    from kazoo.security import make_digest_acl

    monkeypatch.setenv(
        "AIRFLOW_CONN_MERRITT_ZK",
        f'{{"conn_type": "generic", "host": "127.0.0.1", "port": {zookeeper.port}, "schema": "{merritt_conn}", '
        '"login": "merritt", "password": "s3cret"}',  # pragma: allowlist secret
    )
    with MerrittZooKeeperHook() as hook:
        client = hook.get_conn()
        client.create("/private", b"x", acl=[make_digest_acl("merritt", "s3cret", all=True)])
        assert client.get("/private")[0] == b"x"
    stranger = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}{merritt_conn}")
    stranger.start(timeout=10)
    try:
        from kazoo.exceptions import NoAuthError

        with pytest.raises(NoAuthError):
            stranger.get("/private")
    finally:
        stranger.stop()
        stranger.close()


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
    original_commit, expired = MerrittQueue.commit, []

    def commit_then_expire(queue, operations, what):
        original_commit(queue, operations, what)
        if what.startswith("create jobs") and not expired:
            expired.append(what)
            session_id, password = queue.client.client_id
            twin = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}{merritt_conn}", client_id=(session_id, password))
            twin.start(timeout=10)
            twin.stop()
            twin.close()

    monkeypatch.setattr(MerrittQueue, "commit", commit_then_expire)
    summary = stage(submission_conf(800))  # the jobs take two transactions: the session ends after the first

    assert expired and summary["jobs"] == 800
    assert len(zk.get_children("/jobs")) == 801
    assert len(zk.get_children("/jobs/states/pending")) == 800


def _staged_and_finished(zk, jobs, fail_in=None, **conf):
    result = MerrittQueue(zk).stage(*_plan(submission_conf(jobs, **conf)))
    QueueWorker(zk).run_all(fail_in=fail_in)
    return result.bid


def _plan(conf):
    from include.merritt.checkm import parse_manifest
    from include.merritt.submission import parse_submission, plan_jobs

    submission = parse_submission(conf, {conf["profile"]})
    return submission, plan_jobs(submission, parse_manifest(submission.payload, manifest_of_manifests=True))


def test_reporting_goes_on_past_a_corrupt_batch_and_names_its_node(merritt_conn, zk, smtp):
    good = _staged_and_finished(zk, 2, notification="good@example.org")
    corrupt = _staged_and_finished(zk, 1)
    zk.set(f"/batches/{corrupt}/status", b'{"status": "Processing", ')

    with pytest.raises(AirflowException, match=f"/batches/{corrupt}/status: not valid JSON"):
        MerrittBatchReportingOperator(task_id="report").execute({})

    assert read_json(zk, f"/batches/{good}/status")["status"] == "Completed"
    assert any(message["to"] == "good@example.org" for message in smtp.messages())


def test_a_batch_locked_by_another_reporter_is_skipped(merritt_conn, zk):
    bid = _staged_and_finished(zk, 1, submitter="no-mail")
    zk.create(f"/batches/{bid}/lock", ephemeral=True)

    summary = MerrittBatchReportingOperator(task_id="report").execute({})
    assert summary["locked"] == [bid] and summary["reported"] == []
    assert read_json(zk, f"/batches/{bid}/status")["status"] == "Processing"
    zk.delete(f"/batches/{bid}/lock")
    summary = MerrittBatchReportingOperator(task_id="report").execute({})
    assert [report["bid"] for report in summary["reported"]] == [bid]
    assert read_json(zk, f"/batches/{bid}/status")["status"] == "Completed"


@pytest.mark.parametrize(
    ("action", "target", "message"),
    [
        ("requeue_job", "bid0000000000", "requeue_job needs a jid as target"),
        ("delete_job", "jid0000000001", "job cannot move from Pending to Deleted"),
        ("update_reporting", "bid0000000000", "batch cannot move from Processing to UpdateReporting"),
        ("requeue_job", "jid0000000999", "/jobs/jid0000000999/status does not exist"),
        ("explode", "", "unknown action 'explode'"),
    ],
)
def test_refused_admin_actions_change_nothing_and_say_why(merritt_conn, zk, action, target, message):
    MerrittQueue(zk).stage(*_plan(submission_conf(1)))
    before = read_json(zk, "/jobs/jid0000000001/status"), read_json(zk, "/batches/bid0000000000/status")
    with pytest.raises(AirflowFailException, match=message):
        MerrittQueueAdminOperator(task_id="admin", action=action, target=target).execute({})
    assert (read_json(zk, "/jobs/jid0000000001/status"), read_json(zk, "/batches/bid0000000000/status")) == before


def test_without_the_profiles_variable_nothing_is_staged(merritt_conn, zk, monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_MERRITT_PROFILES")
    with pytest.raises(AirflowFailException, match="Variable merritt_profiles must hold the JSON list"):
        stage(submission_conf(1))
    assert zk.exists("/batches") is None


def test_an_operator_fails_then_deletes_a_job_moving_every_entry(merritt_conn, zk):
    MerrittQueue(zk).stage(*_plan(submission_conf(1)))
    admin = MerrittQueueAdminOperator

    failed = admin(task_id="admin", action="fail_job", target="jid0000000001", message="bad payload").execute({})
    assert failed["changes"] == [
        {"node": "/jobs/jid0000000001/status", "before": "Pending", "after": "Failed"},
        {
            "node": "/jobs/states/failed/05-jid0000000001",
            "before": "/jobs/states/pending/05-jid0000000001",
            "after": "/jobs/states/failed/05-jid0000000001",
        },
        {
            "node": "/batches/bid0000000000/states/batch-failed/jid0000000001",
            "before": "/batches/bid0000000000/states/batch-processing/jid0000000001",
            "after": "/batches/bid0000000000/states/batch-failed/jid0000000001",
        },
    ]
    assert read_json(zk, "/jobs/jid0000000001/status")["message"] == "bad payload"

    admin(task_id="admin", action="delete_job", target="jid0000000001").execute({})
    assert read_json(zk, "/jobs/jid0000000001/status")["status"] == "Deleted"
    assert zk.get_children("/jobs/states/deleted") == ["05-jid0000000001"]
    assert zk.get_children("/jobs/states/failed") == []
    assert zk.get_children("/batches/bid0000000000/states/batch-deleted") == ["jid0000000001"]
    assert zk.get_children("/batches/bid0000000000/states/batch-failed") == []
