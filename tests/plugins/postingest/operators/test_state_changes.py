"""The state-change operator: bad parameters fail at once; the Kafka connection's size limit parks notifications."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook
from preservation_pipelines.postingest.operators.state_changes import ApplyStateChangesOperator
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture

QUEUES = [{"queueAlias": "CC", "queueOrder": 1, "queueUrl": "https://sqs.example/1/cc"}]


def operator(**kwargs) -> ApplyStateChangesOperator:
    arguments = {
        "task_id": "apply",
        "table_name": "state",
        "checkpoint_table": "checkpoints",
        "topic": "notifications",
        "queue_config_variable": "postingest_queues_operator_test",
        **kwargs,
    }
    return ApplyStateChangesOperator(**arguments)


def kafka_connection(monkeypatch, conn_id: str, **extra) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "kafka", "extra": extra}))
    return conn_id


@pytest.mark.parametrize(
    "arguments, problem",
    [
        ({"max_records": "lots"}, "max_records must be a whole number from 1 to 1000000, got 'lots'"),
        ({"max_records": 0}, "max_records must be from 1 to 1000000, got 0"),
        ({"max_records": "2000000"}, "max_records must be from 1 to 1000000, got 2000000"),
        ({"page_size": 5000}, "page_size must be from 1 to 1000, got 5000"),
        ({"concurrency": 0}, "concurrency must be from 1 to 32, got 0"),
        ({"concurrency": "many"}, "concurrency must be a whole number from 1 to 32, got 'many'"),
        ({"topic": "no topic!"}, "Variable postingest_topic 'no topic!' is not a valid name"),
        ({"checkpoint_table": "x"}, "Variable postingest_checkpoint_table 'x' is not a valid name"),
        (
            {"table_name": "state\nHost: elsewhere"},
            "Variable postingest_state_table 'state\\\\nHost: elsewhere' is not a valid name",
        ),
    ],
)
def test_bad_parameters_fail_at_once_naming_them(monkeypatch, arguments, problem):
    monkeypatch.setenv("AIRFLOW_VAR_POSTINGEST_QUEUES_OPERATOR_TEST", json.dumps(QUEUES))

    with pytest.raises(AirflowFailException, match=problem):
        operator(**arguments).execute(context={})


def test_a_kafka_connection_with_an_impossible_size_limit_fails_at_once(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_POSTINGEST_QUEUES_OPERATOR_TEST", json.dumps(QUEUES))
    conn_id = kafka_connection(
        monkeypatch, "kafka_tiny", **{"bootstrap.servers": "127.0.0.1:1", "message.max.bytes": 12}
    )

    with pytest.raises(AirflowFailException, match="message.max.bytes of the Kafka connection must be from 1000"):
        operator(kafka_conn_id=conn_id).execute(context={})


def test_a_missing_state_table_fails_at_once(postingest):
    missing = operator(
        table_name=f"missing-{postingest.suffix}",
        checkpoint_table=postingest.checkpoint_table,
        topic=postingest.topic,
        queue_config_variable=postingest.variable,
    )

    with pytest.raises(AirflowFailException, match=f"table missing-{postingest.suffix} does not exist"):
        missing.execute(context={})


def test_notifications_over_the_connections_message_max_bytes_are_parked_not_sent(postingest, monkeypatch):
    from confluent_kafka import KafkaException

    conn_id = kafka_connection(
        monkeypatch,
        f"kafka_small_{postingest.suffix}",
        **{"bootstrap.servers": postingest.bootstrap_servers, "message.max.bytes": 1000, "message.timeout.ms": 15000},
    )
    chatty = postingest.insert_asset(correlationId="c" * 1500)
    quiet = postingest.insert_asset()

    summary = operator(
        table_name=postingest.table,
        checkpoint_table=postingest.checkpoint_table,
        topic=postingest.topic,
        queue_config_variable=postingest.variable,
        kafka_conn_id=conn_id,
    ).execute(context={})

    [parked] = summary["parked"]
    assert parked["assetId"] == chatty["assetId"]
    assert "over the 1000 of the Kafka connection's message.max.bytes" in parked["error"]
    assert "queue" not in postingest.item(chatty) and postingest.item(quiet)["queue"] == "CC"
    assert [n["key"] for n in postingest.notifications(expected=1, timeout=5)] == [quiet["assetId"]]
    with pytest.raises(KafkaException, match="MSG_SIZE_TOO_LARGE"):  # what the producer would have said
        KafkaTopicProducerHook(conn_id).produce(postingest.topic, key=chatty["assetId"], value="c" * 1500)
