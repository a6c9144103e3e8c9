"""The reporting operator against the real ZooKeeper and SMTP sink: corrupt nodes, locked batches."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException

from preservation_pipelines.merritt.operators.reporting import MerrittBatchReportingOperator
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    QueueWorker,
    merritt_conn,
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
