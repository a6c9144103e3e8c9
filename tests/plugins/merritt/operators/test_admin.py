"""The admin operator against the real ZooKeeper: refused actions change nothing, moves move every entry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException

from preservation_pipelines.merritt.operators.admin import MerrittQueueAdminOperator
from tests.include.merritt.support import (  # noqa: F401 - fixtures
    half_staged,
    merritt_conn,
    queue_root,
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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"older_than_days": "abc"}, "older_than_days must be a whole number from 0 to 3650, not 'abc'"),
        ({"older_than_days": "-1"}, "older_than_days must be a whole number"),
        ({"older_than_days": "99999999999"}, "older_than_days must be a whole number"),
        ({"older_than_days": "\u0663"}, "older_than_days must be a whole number"),
        ({"message": "m" * 1001}, "message must be at most 1000 characters"),
        ({"message": "done\r\nBcc: x@example.org"}, "without control characters"),
        ({"target": "jid0000000001\n/../x"}, "needs a jid as target"),
    ],
)
def test_arguments_out_of_bounds_fail_at_once_before_zookeeper_is_touched(arguments, message):
    """No connection is configured here: a refusal comes from validation, never from ZooKeeper."""
    operator = MerrittQueueAdminOperator(
        task_id="admin",
        action=arguments.pop("action", "fail_job"),
        target=arguments.pop("target", "jid0000000001"),
        **arguments,
    )
    with pytest.raises(AirflowFailException, match=re.escape(message)):
        operator.execute({})


def test_an_orphaned_claim_is_removed_by_the_admin_action(merritt_conn, zk):
    bid = half_staged(zk, submission_conf(300))
    with pytest.raises(AirflowFailException, match=f"remove_unpublished_batch {bid}: refused: .*may still be running"):
        MerrittQueueAdminOperator(task_id="admin", action="remove_unpublished_batch", target=bid).execute({})
    assert zk.exists(f"/batches/{bid}")

    removed = MerrittQueueAdminOperator(
        task_id="admin", action="remove_unpublished_batch", target=bid, unpublished_quiet_period=timedelta(0)
    ).execute({})
    assert removed["changes"] == [{"node": f"/batches/{bid}", "before": "unpublished", "after": None}]
    assert zk.get_children("/batches") == [] and zk.get_children("/batch-uuids") == []
