import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from include.postingest.config import parse_queue_config
from include.postingest.messages import (
    confirmer_message,
    iso_instant,
    notification,
    notification_message_id,
)
from include.postingest.transitions import Advance, Complete, MalformedRecordError, QueueFirst

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
