"""Reporting and queue administration end to end: staged batches, a worker, the DAGs, e-mail on the sink."""

from __future__ import annotations

from include.merritt.submission import NODE_NAME
from preservation_pipelines.merritt.operators.admin import MAX_MESSAGE_CHARACTERS, MAX_OLDER_THAN_DAYS
from tests.dags.helpers import load_dag, run_dag, task_states, xcom_return
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    PROFILE,
    QueueWorker,
    half_staged,
    merritt_conn,
    queue_root,
    read_json,
    stage,  # also what tests/ops stages its batches with
    submission_conf,
    zk,
    zk_chroot,
)


def admin(action: str, target: str = "", **params):
    dag_run = run_dag("merritt_queue_admin", conf={"action": action, "target": target, **params})
    assert task_states(dag_run) == {"run_admin_action": "success"}, (action, target)
    return xcom_return(dag_run, "run_admin_action")


def report():
    dag_run = run_dag("merritt_batch_reporting")
    assert task_states(dag_run) == {"report_finished_batches": "success"}
    return xcom_return(dag_run, "report_finished_batches")


def test_a_failed_job_is_reported_requeued_rerun_and_the_batch_completed_then_removed(
    airflow_db, merritt_conn, zk, smtp
):
    mail_before = len(smtp.messages())  # the sink is shared by the whole test session
    batch = stage(zk, submission_conf(3, notification="curator@example.org"))
    worker = QueueWorker(zk)
    broken = worker.run_one(fail_in="Storing")
    worker.run_all()
    other = stage(zk, submission_conf(1, submitter="someone"))  # its job stays pending

    first = report()
    assert first["waiting"] == 1  # `other` still has its job pending
    assert [(r["bid"], r["outcome"], r["completed"], r["failed"]) for r in first["reported"]] == [
        (batch.bid, "Failed", 2, 1)
    ]
    assert read_json(zk, f"/batches/{batch.bid}/status")["status"] == "Failed"
    (mail,) = [m for m in smtp.messages()[mail_before:] if m["to"] == "curator@example.org"]
    assert "Failed: 2 completed, 1 failed" in mail["subject"]
    assert f"{broken}: storing failed: GET 404 for {broken}" in mail["body"]

    requeued = admin("requeue_job", broken)
    assert requeued["changes"][0] == {"node": f"/jobs/{broken}/status", "before": "Failed", "after": "Storing"}
    assert admin("update_reporting", batch.bid)["changes"] == [
        {"node": f"/batches/{batch.bid}/status", "before": "Failed", "after": "UpdateReporting"}
    ]
    assert report()["reported"] == []  # the re-run job is still in Storing
    assert worker.run_one(state="Storing") == broken
    second = report()
    assert [(r["bid"], r["outcome"], r["reported_from"]) for r in second["reported"]] == [
        (batch.bid, "Completed", "UpdateReporting")
    ]
    assert read_json(zk, f"/jobs/{broken}/status")["retry_count"] == 1

    removed = admin("remove_completed_batches", older_than_days=0)
    assert removed["changes"] == [{"node": f"/batches/{batch.bid}", "before": "Completed", "after": None}]
    assert zk.get_children("/batches") == [other.bid]
    assert zk.get_children("/batch-uuids") == [other.batch_id]
    assert sorted(zk.get_children("/jobs")) == ["jid0000000004", "states"]
    assert zk.get_children("/jobs/states/completed") == []


def test_hold_freeze_release_and_thaw(airflow_db, merritt_conn, zk):
    assert admin("hold_collection", PROFILE)["changes"] == [
        {"node": f"/locks/collections/{PROFILE}", "before": None, "after": f"/locks/collections/{PROFILE}"}
    ]
    held = stage(zk, submission_conf(2))
    assert held.state == "Processing"  # a hold holds jobs, never the batch
    assert sorted(zk.get_children("/jobs/states/held")) == ["11-jid0000000001", "11-jid0000000002"]
    admin("freeze_queue")

    released = admin("release_collection", PROFILE)
    assert [change["node"] for change in released["changes"]][:2] == [
        f"/locks/collections/{PROFILE}",
        "/jobs/jid0000000001/status",
    ]
    assert not any(
        change["node"].startswith("/batches/") and change["node"].endswith("/status") for change in released["changes"]
    )
    assert sorted(zk.get_children("/jobs/states/pending")) == ["11-jid0000000001", "11-jid0000000002"]
    assert zk.get_children("/jobs/states/held") == []
    assert QueueWorker(zk).run_one() is None  # frozen: workers take nothing
    assert report()["frozen"] is True  # nor do reporters

    assert admin("thaw_queue")["changed"] == 1
    assert admin("thaw_queue")["changed"] == 0  # nothing left to change
    assert QueueWorker(zk).run_all() == ["jid0000000001", "jid0000000002"]


def test_a_failed_batch_is_deleted_with_its_jobs_and_removed(airflow_db, merritt_conn, zk):
    batch = stage(zk, submission_conf(2, submitter="no-mail"))
    QueueWorker(zk).run_all(fail_in="Downloading")
    assert [r["outcome"] for r in report()["reported"]] == ["Failed"]

    deleted = admin("delete_batch", batch.bid)

    # per job: status, queue entry, batch entry; the batch's status; the batch removed
    assert deleted["changed"] == 8 and deleted["changes"][-1] == {
        "node": f"/batches/{batch.bid}",
        "before": "Deleted",
        "after": None,
    }
    assert zk.get_children("/batches") == [] and zk.get_children("/batch-uuids") == []
    assert zk.get_children("/jobs") == ["states"] and zk.get_children("/jobs/states/deleted") == []


def test_an_orphaned_claim_still_being_written_is_not_removed(airflow_db, merritt_conn, zk):
    bid = half_staged(zk, submission_conf(300))
    dag_run = run_dag("merritt_queue_admin", conf={"action": "remove_unpublished_batch", "target": bid})
    assert task_states(dag_run) == {"run_admin_action": "failed"}  # refused at once, without retries
    assert zk.exists(f"/batches/{bid}") and len(zk.get_children("/batch-uuids")) == 1


def test_the_admin_params_form_is_bounded():
    params = load_dag("merritt_queue_admin").params
    assert params.get_param("older_than_days").schema["maximum"] == MAX_OLDER_THAN_DAYS
    assert params.get_param("message").schema["maxLength"] == MAX_MESSAGE_CHARACTERS
    assert params.get_param("target").schema["pattern"] == f"^$|{NODE_NAME.pattern}"
    assert "remove_unpublished_batch" in params.get_param("action").schema["enum"]
