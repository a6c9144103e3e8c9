"""merritt_ingest_staging end to end on the real ZooKeeper: conf in, batch and jobs in the queue."""

from __future__ import annotations

from kazoo.client import KazooClient

from include.merritt.priority import MAX_PRIORITY, MIN_PRIORITY
from include.merritt.submission import ACCEPTED_TYPES, FIELDS, NODE_NAME
from tests.dags.helpers import load_dag, run_dag, task_states, xcom_return
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    batch_manifest,
    merritt_conn,
    queue_root,
    read_json,
    submission_conf,
    web,
    zk,
    zk_chroot,
)


def test_a_submission_is_staged_once_however_often_the_run_is_repeated(
    airflow_db, merritt_conn, zk: KazooClient, web, queue_root
):
    conf = submission_conf(
        3, payload=batch_manifest(3, base=web.url), title="Three objects", notification="curator@example.org"
    )

    first = run_dag("merritt_ingest_staging", conf=conf)
    again = run_dag("merritt_ingest_staging", conf=conf)

    assert task_states(first) == {"stage_batch": "success"}
    summary = xcom_return(first, "stage_batch")
    assert (summary["jobs"], summary["priority"], summary["state"], summary["already_staged"]) == (
        3,
        15,
        "Processing",
        False,
    )
    assert xcom_return(again, "stage_batch")["already_staged"] is True
    assert zk.get_children("/batches") == [summary["bid"]]
    assert zk.get("/batch-uuids/" + summary["batch_id"])[0].decode() == summary["bid"]
    assert sorted(path.name for path in (queue_root / summary["batch_id"]).iterdir()) == sorted(
        read_json(zk, f"/jobs/jid000000000{n}/configuration")["jobID"] for n in (1, 2, 3)
    )
    assert read_json(zk, f"/batches/{summary['bid']}/submission")["title"] == "Three objects"
    assert sorted(zk.get_children("/jobs/states/pending")) == [
        "15-jid0000000001",
        "15-jid0000000002",
        "15-jid0000000003",
    ]


def test_without_a_uuid_the_run_id_keeps_a_cleared_run_from_staging_twice(
    airflow_db, merritt_conn, zk: KazooClient, web
):
    conf = submission_conf(1, payload=batch_manifest(1, base=web.url))
    del conf["submission_uuid"]
    dag_run = run_dag("merritt_ingest_staging", conf=conf)

    summary = xcom_return(dag_run, "stage_batch")
    assert len(summary["submission_uuid"]) == 36 and summary["batch_id"] == "bid-" + summary["submission_uuid"]
    assert zk.get_children("/batch-uuids") == [summary["batch_id"]]


def test_bad_input_fails_without_retries_and_writes_nothing(airflow_db, merritt_conn, zk: KazooClient):
    unknown_profile = run_dag("merritt_ingest_staging", conf=submission_conf(2, profile="no_such_collection"))
    broken_row = submission_conf(2)
    broken_row["payload"] = broken_row["payload"].replace("https://example.org/objects/000001", "ftp://x")
    bad_manifest = run_dag("merritt_ingest_staging", conf=broken_row)

    for dag_run in (unknown_profile, bad_manifest):
        assert str(dag_run.state) == "failed"
        assert task_states(dag_run) == {"stage_batch": "failed"}
    assert zk.exists("/batches") is None or zk.get_children("/batches") == []


def test_a_manifest_changed_after_it_was_fetched_is_not_what_gets_staged(airflow_db, merritt_conn, zk, web):
    """The run fetches the manifest once and stages the rows it validated, whatever the URL answers later."""
    web.pages["/batch.checkm"] = [
        batch_manifest(2, base=web.url).encode(),
        batch_manifest(7, start=50, base=web.url).encode(),
    ]
    dag_run = run_dag("merritt_ingest_staging", conf=submission_conf(payload=web.url + "/batch.checkm"))

    assert task_states(dag_run) == {"stage_batch": "success"}
    assert web.gets.count("/batch.checkm") == 1
    summary = xcom_return(dag_run, "stage_batch")
    assert (summary["manifest_rows"], summary["jobs"]) == (2, 2)
    jids = sorted(zk.get_children(f"/batches/{summary['bid']}/states/batch-processing"))
    assert [read_json(zk, f"/jobs/{jid}/configuration")["filename"] for jid in jids] == [
        "000000.checkm",
        "000001.checkm",
    ]


def test_the_params_form_offers_exactly_what_a_submission_accepts():
    params = load_dag("merritt_ingest_staging").params
    assert set(params) == FIELDS
    assert params.get_param("type").schema["enum"] == list(ACCEPTED_TYPES)
    priority = params.get_param("priority").schema
    assert (priority["minimum"], priority["maximum"]) == (MIN_PRIORITY, MAX_PRIORITY)


def test_hostile_input_fails_without_retries_and_claims_nothing(airflow_db, merritt_conn, zk, web, monkeypatch):
    """A ~1 MB cell (formerly a half-staged batch), a row split by U+2028, a manifest URL on loopback."""
    web.pages["/m.checkm"] = batch_manifest(2).encode()
    oversized = submission_conf(payload=batch_manifest(3).replace("Object 1", "T" * 1_100_000))
    hidden_row = submission_conf(
        payload=batch_manifest(2).replace("Object 1", "Object 1\u2028https://evil.example/x.checkm | | | x.checkm")
    )
    runs = [run_dag("merritt_ingest_staging", conf=conf) for conf in (oversized, hidden_row)]
    monkeypatch.delenv("AIRFLOW_VAR_MERRITT_FETCH_ALLOWED_NETWORKS")
    runs.append(run_dag("merritt_ingest_staging", conf=submission_conf(payload=web.url + "/m.checkm")))

    for dag_run in runs:
        assert str(dag_run.state) == "failed"
        assert task_states(dag_run) == {"stage_batch": "failed"}
    assert web.gets == []
    assert zk.exists("/batches") is None or zk.get_children("/batches") == []


def test_the_params_form_bounds_what_becomes_a_node_name():
    uuid = load_dag("merritt_ingest_staging").params.get_param("submission_uuid").schema
    assert uuid["pattern"] == f"^$|{NODE_NAME.pattern}"
