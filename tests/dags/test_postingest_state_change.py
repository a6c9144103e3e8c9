"""postingest_state_change end to end on the devstack: moto (DynamoDB, stream, SQS) and tansu."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.dags.helpers import load_dag, run_dag, task_states, xcom_return
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture

INGESTED = "Asset has been ingested to the Preservation System."
ON_DISK = "Asset has been written to custodial copy disk."
ON_TAPE = "Asset has been written to tape."


def run_state_change(world):
    dag_run = run_dag("postingest_state_change")
    assert task_states(dag_run) == {"apply_stream_records": "success", "report": "success"}
    return xcom_return(dag_run, "report")


def test_an_asset_goes_through_both_confirmers_and_is_announced_three_times(airflow_db, postingest):
    asset = postingest.insert_asset(correlationId="corr-1")

    first = run_state_change(postingest)
    [cc_message] = postingest.confirm("CC", json.dumps({"ocflVersion": 3}))
    second = run_state_change(postingest)
    [tc_message] = postingest.confirm("TC", json.dumps({"tapeId": "T001"}))
    third = run_state_change(postingest)

    assert cc_message == {
        "assetId": asset["assetId"],
        "batchId": asset["batchId"],
        "resultAttrName": "result_CC",
        "payload": json.loads(asset["input"]),
    }
    assert tc_message == {
        "assetId": asset["assetId"],
        "batchId": asset["batchId"],
        "resultAttrName": "result_TC",
        "payload": {"ocflVersion": 3},
    }
    assert postingest.item(asset) is None
    assert (first["queued_first"], second["advanced"], third["completed"]) == (1, 1, 1)
    assert first["parked"] == second["parked"] == third["parked"] == []

    notifications = postingest.notifications(expected=3)
    assert [(n["properties"]["messageType"], n["parameters"]["status"]) for n in notifications] == [
        ("preserve.digital.asset.ingest.update", INGESTED),
        ("preserve.digital.asset.ingest.update", ON_DISK),
        ("preserve.digital.asset.ingest.complete", ON_TAPE),
    ]
    for notification in notifications:
        assert notification["key"] == asset["assetId"]
        assert notification["parameters"]["assetId"] == asset["assetId"]
        assert notification["properties"]["executionId"] == asset["batchId"]
        assert notification["properties"]["parentMessageId"] == "corr-1"
        assert notification["properties"]["timestamp"].endswith("Z")
    assert len({n["properties"]["messageId"] for n in notifications}) == 3


def test_a_second_run_with_nothing_new_sends_and_announces_nothing(airflow_db, postingest):
    asset = postingest.insert_asset()
    run_state_change(postingest)

    again = run_state_change(postingest)

    assert len(postingest.queue_messages("CC")) == 1
    assert postingest.item(asset)["queue"] == "CC"
    assert again["notifications"] == 0 and again["queued_first"] == 0
    assert len(postingest.notifications(expected=1, timeout=3)) == 1


def test_a_poison_record_is_parked_the_rest_applied_and_the_report_fails(airflow_db, postingest):
    bad = postingest.insert_asset(input="{not json")
    good = postingest.insert_asset()

    dag_run = run_dag("postingest_state_change")

    assert task_states(dag_run) == {"apply_stream_records": "success", "report": "failed"}
    assert postingest.item(good)["queue"] == "CC"
    [parked] = xcom_return(dag_run, "apply_stream_records")["parked"]
    assert parked["assetId"] == bad["assetId"] and "input is not valid JSON" in parked["error"]
    assert str(dag_run.state) == "failed"


def test_a_bad_queue_config_stops_the_run_before_anything_happens(airflow_db, postingest, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.postingest.operators.base import load_queue_config

    asset = postingest.insert_asset()
    duplicate_order = [
        {"queueAlias": "CC", "queueOrder": 1, "queueUrl": postingest.queue_urls["CC"]},
        {"queueAlias": "TC", "queueOrder": 1, "queueUrl": postingest.queue_urls["TC"]},
    ]
    monkeypatch.setenv(f"AIRFLOW_VAR_{postingest.variable.upper()}", json.dumps(duplicate_order))

    dag_run = run_dag("postingest_state_change")

    assert task_states(dag_run)["apply_stream_records"] == "failed"
    assert "queue" not in postingest.item(asset)
    assert postingest.queue_messages("CC") == []
    with pytest.raises(AirflowFailException, match="2 queues with queueOrder 1: CC, TC"):
        load_queue_config(postingest.variable)


def test_an_attribute_of_the_wrong_type_is_parked_and_named_by_the_failing_report(airflow_db, postingest):
    typed = postingest.insert_asset(input=Decimal(7))
    good = postingest.insert_asset()

    dag_run = run_dag("postingest_state_change")

    assert task_states(dag_run) == {"apply_stream_records": "success", "report": "failed"}
    assert postingest.item(good)["queue"] == "CC" and "queue" not in postingest.item(typed)
    [parked] = xcom_return(dag_run, "apply_stream_records")["parked"]
    assert parked["assetId"] == typed["assetId"] and "input is a number, not a string" in parked["error"]


@pytest.mark.parametrize(
    "name, value",
    [("max_records", 0), ("max_records", 1_000_001), ("max_records", "many"), ("concurrency", 0), ("concurrency", 33)],
)
def test_the_params_form_refuses_numbers_out_of_bounds(name, value):
    from airflow.sdk.exceptions import ParamValidationError

    params = load_dag("postingest_state_change").params

    with pytest.raises(ParamValidationError):
        params.get_param(name).resolve(value)
    assert params.get_param("max_records").resolve(1_000_000) == 1_000_000
    assert params.get_param("concurrency").resolve(32) == 32


def test_infrastructure_names_are_not_in_the_params_form():
    for dag_id in ("postingest_state_change", "postingest_resender"):
        assert set(load_dag(dag_id).params) <= {"max_records", "concurrency"}


def test_a_topic_variable_holding_no_topic_name_fails_the_run_at_once(airflow_db, postingest, monkeypatch):
    asset = postingest.insert_asset()
    monkeypatch.setenv("AIRFLOW_VAR_POSTINGEST_TOPIC", "no topic!")

    dag_run = run_dag("postingest_state_change")

    assert task_states(dag_run)["apply_stream_records"] == "failed"  # not up_for_retry
    assert "queue" not in postingest.item(asset)
    assert postingest.queue_messages("CC") == []
