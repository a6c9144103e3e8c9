import json

import pytest

from include.postingest.config import parse_queue_config
from include.postingest.transitions import (
    ALREADY_APPLIED,
    APPLY,
    ITEM_GONE,
    Advance,
    Complete,
    Ignore,
    MalformedRecordError,
    QueueFirst,
    StreamRecord,
    as_malformed,
    completed_delete_condition,
    decide,
    queued_update,
    replay_status,
)

CONFIG = parse_queue_config(
    json.dumps(
        [
            {"queueAlias": "CC", "queueOrder": 1, "queueUrl": "https://sqs/1/cc"},
            {"queueAlias": "TC", "queueOrder": 2, "queueUrl": "https://sqs/2/tc"},
        ]
    )
)
CC, TC = CONFIG.by_alias("CC"), CONFIG.by_alias("TC")
KEYS = {"assetId": "e2715719-c313-4e95-b5e6-f8759dcc6aed", "batchId": "TDR_0cae3480"}
INPUT = '{"preservationSystemId":"9a83532d"}'


def record(event_name, old=None, new=None):
    return StreamRecord("event-1", event_name, "1100000000017454423009", KEYS, old, new)


def item(**attributes):
    return {**KEYS, "input": INPUT, **attributes}


def test_insert_queues_to_the_first_queue():
    assert decide(record("INSERT", new=item()), CONFIG) == QueueFirst(CC)


def test_a_result_on_the_first_queue_advances_to_the_next():
    old = item(queue="CC")
    new = item(queue="CC", result_CC='{"x": 1}')

    assert decide(record("MODIFY", old, new), CONFIG) == Advance(CC, TC)


def test_a_result_on_the_last_queue_completes():
    old = item(queue="TC", result_CC="{}")
    new = item(queue="TC", result_CC="{}", result_TC="{}")

    assert decide(record("MODIFY", old, new), CONFIG) == Complete(TC)


@pytest.mark.parametrize(
    "old, new",
    [
        (item(), item(queue="CC", firstQueued="t", lastQueued="t")),  # our own first update
        (item(queue="CC", result_CC="{}"), item(queue="TC", result_CC="{}")),  # our own advance
        (item(queue="CC", lastQueued="a"), item(queue="CC", lastQueued="b")),  # the resender's touch
        (item(queue="CC", result_CC="{}"), item(queue="CC", result_CC='{"again": 1}')),  # result rewritten
        (item(queue="TC"), item(queue="TC", result_CC="{}")),  # result of a queue it is not waiting on
        (item(queue="XX"), item(queue="XX", result_XX="{}")),  # a queue no longer configured
    ],
)
def test_modifies_without_a_new_result_on_the_waited_queue_are_ignored(old, new):
    assert isinstance(decide(record("MODIFY", old, new), CONFIG), Ignore)


def test_remove_is_ignored():
    assert decide(record("REMOVE", old=item(queue="TC")), CONFIG) == Ignore("item removed")


@pytest.mark.parametrize(
    "bad, message",
    [
        (record("MODIFY", new=item(queue="CC")), "MODIFY without the old image"),
        (record("MODIFY", old=item(queue="CC")), "MODIFY without the new image"),
        (record("INSERT"), "INSERT without a new image"),
        (record("TRUNCATE", new=item()), "unknown event name"),
        (StreamRecord("e", "INSERT", "7", {"assetId": "a"}, None, {"assetId": "a"}), "keys lack assetId or batchId"),
    ],
)
def test_malformed_records_name_the_asset_and_sequence(bad, message):
    with pytest.raises(MalformedRecordError, match=message) as raised:
        decide(bad, CONFIG)
    assert bad.asset_id in str(raised.value) and bad.sequence_number in str(raised.value)


@pytest.mark.parametrize(
    "transition, current, expected",
    [
        (QueueFirst(CC), item(), APPLY),
        (QueueFirst(CC), item(queue="CC"), ALREADY_APPLIED),
        (QueueFirst(CC), None, ITEM_GONE),
        (Advance(CC, TC), item(queue="CC", result_CC="{}"), APPLY),
        (Advance(CC, TC), item(queue="TC", result_CC="{}"), ALREADY_APPLIED),
        (Advance(CC, TC), None, ITEM_GONE),
        (Complete(TC), item(queue="TC"), APPLY),
        (Complete(TC), None, ALREADY_APPLIED),
    ],
)
def test_replay_status_recognises_work_done_before_a_crash(transition, current, expected):
    assert replay_status(transition, current) == expected


def test_first_queued_update_only_applies_to_an_existing_unqueued_item():
    update = queued_update(QueueFirst(CC), "2025-06-19T16:24:00.000Z").as_boto3_params()

    assert update == {
        "UpdateExpression": "SET #queue = :queue, firstQueued = :now, lastQueued = :now",
        "ConditionExpression": "attribute_exists(assetId) AND attribute_not_exists(#queue)",
        "ExpressionAttributeNames": {"#queue": "queue"},
        "ExpressionAttributeValues": {":queue": "CC", ":now": "2025-06-19T16:24:00.000Z"},
    }


def test_advance_update_moves_only_from_the_finished_queue():
    update = queued_update(Advance(CC, TC), "now").as_boto3_params()

    assert update["ConditionExpression"] == "#queue = :finished"
    assert update["ExpressionAttributeValues"] == {":queue": "TC", ":now": "now", ":finished": "CC"}


def test_complete_deletes_only_while_waiting_on_the_last_queue():
    condition = completed_delete_condition(Complete(TC))

    assert condition.condition_expression == "#queue = :finished"
    assert condition.attribute_values == {":finished": "TC"}


def test_the_queued_update_says_what_it_sets_so_the_item_can_be_sized_first():
    update = queued_update(QueueFirst(CC), "now")

    assert update.item_after(item(lastQueued="then")) == {
        **item(),
        "queue": "CC",
        "firstQueued": "now",
        "lastQueued": "now",
    }


def test_any_failure_of_the_pure_code_becomes_the_records_own_error_but_nothing_else_does():
    with pytest.raises(MalformedRecordError, match=r"asset a-1: cannot be handled \(TypeError: bad\)") as raised:
        with as_malformed("asset a-1"):
            raise TypeError("bad")
    assert isinstance(raised.value.__cause__, TypeError)
    with pytest.raises(MalformedRecordError, match="^kept as it is$"):
        with as_malformed("asset a-1"):
            raise MalformedRecordError("kept as it is")
    with pytest.raises(KeyboardInterrupt):  # a BaseException (like Airflow's task timeout) passes through
        with as_malformed("asset a-1"):
            raise KeyboardInterrupt
