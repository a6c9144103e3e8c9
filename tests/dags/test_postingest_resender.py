"""postingest_resender on the devstack, including the seed's example with the clock frozen."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine

from tests.dags.helpers import run_dag, task_states, xcom_return
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture

SEED_NOW = datetime(2025, 6, 19, 16, 24, tzinfo=UTC)


def only_cc_queue(world, monkeypatch) -> None:
    """The seed's configuration: the CC queue alone."""
    config = [{"queueAlias": "CC", "queueOrder": 1, "queueUrl": world.queue_urls["CC"]}]
    monkeypatch.setenv(f"AIRFLOW_VAR_{world.variable.upper()}", json.dumps(config))


def test_the_seed_example_resends_only_the_row_older_than_the_retention(airflow_db, postingest, monkeypatch):
    only_cc_queue(postingest, monkeypatch)
    stale = postingest.insert_asset("e2715719-c313-4e95-b5e6-f8759dcc6aed", queue="CC", lastQueued="2025-06-05T10:00")
    recent = postingest.insert_asset("ca3bb9d5-c5bf-4da8-9ad7-a937f163b006", queue="CC", lastQueued="2025-06-10T10:00")
    elsewhere = postingest.insert_asset(queue="TC", lastQueued="2025-05-01T10:00", result_CC="{}")

    with time_machine.travel(SEED_NOW, tick=True):
        dag_run = run_dag("postingest_resender")

    assert task_states(dag_run) == {"resend_stuck_messages": "success", "report": "success"}
    assert postingest.queue_messages("CC") == [
        {
            "assetId": stale["assetId"],
            "batchId": stale["batchId"],
            "resultAttrName": "result_CC",
            "payload": json.loads(stale["input"]),
        }
    ]
    assert postingest.item(stale)["lastQueued"].startswith("2025-06-19T16:2")
    assert postingest.item(recent)["lastQueued"] == "2025-06-10T10:00"
    assert postingest.item(elsewhere)["lastQueued"] == "2025-05-01T10:00"
    assert postingest.queue_messages("TC") == []
    summary = xcom_return(dag_run, "report")
    assert summary["queues"]["CC"]["stale"] == 1 and summary["queues"]["CC"]["resent"] == 1
    assert summary["queues"]["CC"]["cutoff"].startswith("2025-06-05T16:2")
    assert summary["items_read"] == 1  # the GSI Query read only the stale row
    assert summary["sqs_calls"] == 2  # GetQueueAttributes + one SendMessageBatch


def test_a_later_queue_gets_the_previous_result_and_bad_rows_fail_the_report(airflow_db, postingest):
    waiting = postingest.insert_asset(queue="TC", lastQueued="2020-01-01T00:00:00.000Z", result_CC="not json")
    broken = postingest.insert_asset(queue="CC", lastQueued="2020-01-01T00:00:00.000Z", input="{oops")

    dag_run = run_dag("postingest_resender")

    assert task_states(dag_run) == {"resend_stuck_messages": "success", "report": "failed"}
    [message] = postingest.queue_messages("TC")
    assert message["payload"] == "not json" and message["resultAttrName"] == "result_TC"
    assert postingest.queue_messages("CC") == []
    assert postingest.item(broken)["lastQueued"] == "2020-01-01T00:00:00.000Z"
    summary = xcom_return(dag_run, "resend_stuck_messages")
    assert summary["unsendable"] == [
        {
            "assetId": broken["assetId"],
            "queue": "CC",
            "error": f"asset {broken['assetId']}: input is not valid JSON "
            "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        }
    ]
    assert waiting["assetId"] not in json.dumps(summary["unsendable"])


def test_failed_sends_are_put_back_and_fail_the_task_for_a_retry(postingest, monkeypatch):
    from airflow.sdk.exceptions import AirflowException

    from preservation_pipelines.postingest.operators.resender import ResendStuckMessagesOperator

    stuck = postingest.insert_asset(queue="CC", lastQueued="2020-01-01T00:00:00.000Z")
    gone = [{"queueAlias": "CC", "queueOrder": 1, "queueUrl": postingest.queue_urls["CC"] + "-deleted"}]
    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", json.dumps(gone))
    operator = ResendStuckMessagesOperator(
        task_id="resend", table_name=postingest.table, queue_config_variable=postingest.variable
    )

    expected = f"1 resend\\(s\\) failed and were put back for the retry: {stuck['assetId']}"
    with pytest.raises(AirflowException, match=expected):
        operator.execute(context={})

    assert postingest.item(stuck)["lastQueued"] == "2020-01-01T00:00:00.000Z"
