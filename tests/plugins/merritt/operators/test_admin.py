"""The admin operator against the real ZooKeeper: refused actions change nothing, moves move every entry."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from preservation_pipelines.merritt.operators.admin import MerrittQueueAdminOperator
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    merritt_conn,
    read_json,
    stage,
    submission_conf,
    zk,
    zk_chroot,
)


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
    stage(zk, submission_conf(1))
    before = read_json(zk, "/jobs/jid0000000001/status"), read_json(zk, "/batches/bid0000000000/status")
    with pytest.raises(AirflowFailException, match=message):
        MerrittQueueAdminOperator(task_id="admin", action=action, target=target).execute({})
    assert (read_json(zk, "/jobs/jid0000000001/status"), read_json(zk, "/batches/bid0000000000/status")) == before


def test_an_operator_fails_then_deletes_a_job_moving_every_entry(merritt_conn, zk):
    stage(zk, submission_conf(1))
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
