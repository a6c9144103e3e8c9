"""The bodies sent to the confirmer queues and the notifications topic, for well-formed and hostile items."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary
from hypothesis import given
from hypothesis import strategies as st

from include.postingest.config import parse_queue_config
from include.postingest.messages import (
    confirmer_message,
    iso_instant,
    notification,
    notification_message_id,
    string_attribute,
)
from include.postingest.transitions import Advance, Complete, MalformedRecordError, QueueFirst
from tests.include.postingest.strategies import items

CONFIG = parse_queue_config(
    json.dumps(
        [
            {"queueAlias": "CC", "queueOrder": 1, "queueUrl": "https://sqs/1/cc"},
            {"queueAlias": "TC", "queueOrder": 2, "queueUrl": "https://sqs/2/tc"},
        ]
    )
)
CC, TC = CONFIG.by_alias("CC"), CONFIG.by_alias("TC")
ITEM = {"assetId": "a-1", "batchId": "b-1", "input": '{"preservationSystemId": "p-1"}'}


def test_first_queue_gets_the_input_as_json():
    assert json.loads(confirmer_message(ITEM, CC, CONFIG)) == {
        "assetId": "a-1",
        "batchId": "b-1",
        "resultAttrName": "result_CC",
        "payload": {"preservationSystemId": "p-1"},
    }


def test_later_queue_gets_the_previous_result_as_json():
    message = json.loads(confirmer_message({**ITEM, "result_CC": '{"ocfl": "v3"}'}, TC, CONFIG))

    assert message["resultAttrName"] == "result_TC"
    assert message["payload"] == {"ocfl": "v3"}


def test_a_previous_result_that_is_not_json_is_sent_as_a_string():
    message = json.loads(confirmer_message({**ITEM, "result_CC": "written to disk 3"}, TC, CONFIG))

    assert message["payload"] == "written to disk 3"


@pytest.mark.parametrize(
    "item, queue, message",
    [
        ({**ITEM, "input": "{not json"}, CC, "asset a-1: input is not valid JSON"),
        ({"assetId": "a-1", "batchId": "b-1"}, CC, "asset a-1: no input attribute"),
        (ITEM, TC, "asset a-1: no result_CC to send to TC"),
    ],
)
def test_unusable_payloads_name_the_asset(item, queue, message):
    with pytest.raises(MalformedRecordError, match=message):
        confirmer_message(item, queue, CONFIG)


@pytest.mark.parametrize(
    "item, queue, message",
    [
        ({**ITEM, "input": Decimal(7)}, CC, "asset a-1: input is a number, not a string"),
        ({**ITEM, "input": Binary(b"{}")}, CC, "asset a-1: input is binary, not a string"),
        ({**ITEM, "input": {"a": "b"}}, CC, "asset a-1: input is a map, not a string"),
        ({**ITEM, "result_CC": {"x", "y"}}, TC, "asset a-1: result_CC is a set, not a string"),
        ({**ITEM, "result_CC": ["{}"]}, TC, "asset a-1: result_CC is a list, not a string"),
        ({**ITEM, "result_CC": True}, TC, "asset a-1: result_CC is a boolean, not a string"),
        ({**ITEM, "input": None}, CC, "asset a-1: no input attribute to send to CC"),
        ({**ITEM, "input": "[" * 100_000 + "]" * 100_000}, CC, "input is JSON nested too deeply to decode"),
        ({**ITEM, "result_CC": "[" * 100_000 + "]" * 100_000}, TC, "result_CC is JSON nested too deeply"),
        ({**ITEM, "input": "NaN"}, CC, "input is not valid JSON \\(NaN is not JSON\\)"),
        ({**ITEM, "input": '{"n": ' + "9" * 5000 + "}"}, CC, "input is not valid JSON"),
    ],
)
def test_attributes_of_the_wrong_type_or_shape_name_the_asset_and_the_attribute(item, queue, message):
    with pytest.raises(MalformedRecordError, match=message):
        confirmer_message(item, queue, CONFIG)


def test_a_previous_result_with_non_standard_json_is_sent_as_the_string_it_is():
    message = json.loads(confirmer_message({**ITEM, "result_CC": '{"x": Infinity}'}, TC, CONFIG))

    assert message["payload"] == '{"x": Infinity}'


@given(items, st.sampled_from([CC, TC]))
def test_any_item_gives_a_standard_json_message_or_an_error_naming_the_asset(item, queue):
    try:
        body = confirmer_message(item, queue, CONFIG)
    except MalformedRecordError as error:
        assert str(error).startswith(f"asset {item['assetId']}: ")
        return
    assert body.isascii()
    message = json.loads(body, parse_constant=lambda name: pytest.fail(f"{name} in {body}"))
    assert (message["assetId"], message["batchId"]) == (item["assetId"], item["batchId"])
    assert message["resultAttrName"] == queue.result_attribute


@given(items)
def test_any_correlation_id_is_announced_as_it_is_or_refused_by_type(item):
    try:
        correlation = string_attribute(item, "correlationId")
    except MalformedRecordError as error:
        assert "correlationId is " in str(error) and item["assetId"] in str(error)
        return
    body = notification(
        asset_id=item["assetId"],
        batch_id=item["batchId"],
        correlation_id=correlation,
        transition=QueueFirst(CC),
        message_id="m-1",
        timestamp="2025-06-19T16:24:00.000Z",
    )
    assert body.isascii() and json.loads(body)["properties"]["parentMessageId"] == correlation


@pytest.mark.parametrize(
    "transition, message_type, status",
    [
        (QueueFirst(CC), "preserve.digital.asset.ingest.update", "Asset has been ingested to the Preservation System."),
        (Advance(CC, TC), "preserve.digital.asset.ingest.update", "Asset has been written to custodial copy disk."),
        (Complete(TC), "preserve.digital.asset.ingest.complete", "Asset has been written to tape."),
    ],
)
def test_notifications_carry_the_exact_fields_of_the_spec(transition, message_type, status):
    body = notification(
        asset_id="a-1",
        batch_id="b-1",
        correlation_id=None,
        transition=transition,
        message_id="m-1",
        timestamp="2025-06-19T16:24:00.000Z",
    )

    assert json.loads(body) == {
        "properties": {
            "executionId": "b-1",
            "messageId": "m-1",
            "parentMessageId": None,
            "timestamp": "2025-06-19T16:24:00.000Z",
            "messageType": message_type,
        },
        "parameters": {"assetId": "a-1", "status": status},
    }


def test_message_ids_are_uuids_stable_per_stream_record():
    assert notification_message_id("event-1") == notification_message_id("event-1")
    assert notification_message_id("event-1") != notification_message_id("event-2")
    assert len(notification_message_id("event-1")) == 36


def test_instants_are_utc_with_z_and_sort_as_strings():
    eastern = timezone(timedelta(hours=-4))
    early, late = datetime(2025, 6, 19, 12, 24, tzinfo=eastern), datetime(2025, 6, 19, 16, 25, tzinfo=UTC)

    assert iso_instant(early) == "2025-06-19T16:24:00.000Z"
    assert iso_instant(early) < iso_instant(late)
