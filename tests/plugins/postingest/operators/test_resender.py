"""The resender operator: a missing table or a bad queue config fails at once."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from preservation_pipelines.postingest.operators.resender import ResendStuckMessagesOperator
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture


def test_a_missing_state_table_fails_at_once(postingest):
    resender = ResendStuckMessagesOperator(
        task_id="resend", table_name=f"missing-{postingest.suffix}", queue_config_variable=postingest.variable
    )

    with pytest.raises(AirflowFailException, match=f"table missing-{postingest.suffix} does not exist"):
        resender.execute(context={})


def test_a_queue_url_that_is_not_http_fails_at_once(monkeypatch):
    queues = [{"queueAlias": "CC", "queueOrder": 1, "queueUrl": "file:///etc/passwd"}]
    monkeypatch.setenv("AIRFLOW_VAR_POSTINGEST_QUEUES_RESENDER_TEST", json.dumps(queues))
    resender = ResendStuckMessagesOperator(
        task_id="resend", table_name="state", queue_config_variable="postingest_queues_resender_test"
    )

    with pytest.raises(AirflowFailException, match="queueUrl must be an http\\(s\\) URL"):
        resender.execute(context={})
