"""The reporting operator against the real ZooKeeper and SMTP sink: corrupt nodes, locked batches."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException

from preservation_pipelines.merritt.operators.reporting import MerrittBatchReportingOperator
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    QueueWorker,
    merritt_conn,
    queue_root,
    read_json,
    stage,
    submission_conf,
    zk,
    zk_chroot,
)


def _staged_and_finished(zk, jobs, fail_in=None, **conf):
    result = stage(zk, submission_conf(jobs, **conf))
    QueueWorker(zk).run_all(fail_in=fail_in)
    return result.bid


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


def test_a_reporting_batch_is_reported_only_once_its_jobs_have_finished(merritt_conn, zk, smtp):
    """Merritt's ingest sets Reporting as soon as the jobs exist, while they still run: it is not "finished"."""
    result = stage(zk, submission_conf(2, submitter="no-mail"))
    zk.set(f"/batches/{result.bid}/status", b'{"status":"Reporting","last_modified":"","message":""}')

    summary = MerrittBatchReportingOperator(task_id="report").execute({})
    assert summary["reported"] == [] and summary["waiting"] == 1
    assert read_json(zk, f"/batches/{result.bid}/status")["status"] == "Reporting"

    QueueWorker(zk).run_all()
    (reported,) = MerrittBatchReportingOperator(task_id="report").execute({})["reported"]
    assert (reported["bid"], reported["reported_from"], reported["completed"]) == (result.bid, "Reporting", 2)
    assert read_json(zk, f"/batches/{result.bid}/status")["status"] == "Completed"


def test_batches_merritts_reporter_would_not_take_are_left_alone(merritt_conn, zk):
    claimed_only = stage(zk, submission_conf(1, submitter="no-mail")).bid
    zk.delete("/jobs/states/pending/05-jid0000000001")  # as if staging stopped after its first step:
    zk.delete(f"/batches/{claimed_only}/states/batch-processing/jid0000000001")  # status, no batch-processing yet
    zk.delete(f"/batches/{claimed_only}/states/batch-processing")
    legacy_held = _staged_and_finished(zk, 1, submitter="no-mail")
    zk.set(f"/batches/{legacy_held}/status", b'{"status":"Held","last_modified":"","message":""}')

    summary = MerrittBatchReportingOperator(task_id="report").execute({})

    assert summary["reported"] == [] and summary["left_alone"] == [{"batch": legacy_held, "status": "Held"}]
    assert read_json(zk, f"/batches/{claimed_only}/status")["status"] == "Processing"
    assert read_json(zk, f"/batches/{legacy_held}/status")["status"] == "Held"


def test_nothing_is_reported_while_the_ingest_queue_is_frozen(merritt_conn, zk):
    bid = _staged_and_finished(zk, 1, submitter="no-mail")
    zk.create("/locks/queue/ingest", makepath=True)
    assert MerrittBatchReportingOperator(task_id="report").execute({})["frozen"] is True
    assert read_json(zk, f"/batches/{bid}/status")["status"] == "Processing"


def test_a_report_that_can_never_be_sent_does_not_keep_the_batch_from_being_reported(merritt_conn, zk, smtp):
    refused = smtp.maildir / "refused_recipients"
    refused.write_text("gone@example.org\n")
    try:
        bid = _staged_and_finished(zk, 2, fail_in="Storing", notification="gone@example.org")
        summary = MerrittBatchReportingOperator(task_id="report").execute({})
        again = MerrittBatchReportingOperator(task_id="report").execute({})  # the next run does not trip on it
    finally:
        refused.unlink()

    (reported,) = summary["reported"]
    assert reported["bid"] == bid and "refused every recipient: gone@example.org" in reported["report_not_sent"]
    status = read_json(zk, f"/batches/{bid}/status")
    assert status["status"] == "Failed"
    assert status["message"].startswith("Batch failure; report not sent: the SMTP server refused every recipient")
    assert again["reported"] == [] and again["done"] == 1
    assert not any(message["to"] == "gone@example.org" for message in smtp.messages())
