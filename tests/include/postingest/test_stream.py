"""Decoding stream records strictly, for any input; shard order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from include.postingest.stream import (
    MAX_NESTING,
    StreamNotAdvancingError,
    decode_stream_record,
    parents_first,
    position_after,
    record_position,
    salvaged_record,
    short_text,
)
from include.postingest.transitions import Ignore, MalformedRecordError, StreamRecord, decide
from tests.include.postingest.strategies import CONFIG, raw_records

KEYS = {"assetId": {"S": "a-1"}, "batchId": {"S": "b-1"}}


def raw(event_name="INSERT", sequence="100", **change):
    return {"eventID": "e-1", "eventName": event_name, "dynamodb": {"SequenceNumber": sequence, "Keys": KEYS, **change}}


def nested(levels: int, leaf=None):
    value = leaf or {"S": "deep"}
    for _ in range(levels):
        value = {"L": [value]}
    return value


def test_a_record_is_decoded_to_plain_values_and_a_missing_image_is_none():
    raw = {
        "eventID": "e-1",
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": "100",
            "Keys": {"assetId": {"S": "a-1"}, "batchId": {"S": "b-1"}},
            "NewImage": {"assetId": {"S": "a-1"}, "batchId": {"S": "b-1"}, "attempts": {"N": "2"}},
        },
    }

    record = decode_stream_record(raw)

    assert (record.event_id, record.event_name, record.sequence_number) == ("e-1", "INSERT", "100")
    assert record.keys == {"assetId": "a-1", "batchId": "b-1"}
    assert record.new_image == {"assetId": "a-1", "batchId": "b-1", "attempts": 2}
    assert record.old_image is None


def test_every_dynamodb_type_decodes_to_what_boto3_gives_for_items():
    image = {
        "s": {"S": "text"},
        "n": {"N": "12.50"},
        "b": {"B": b"\x00\x01"},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x01"]},
        "l": {"L": [{"S": "x"}, {"NULL": True}]},
        "m": {"M": {"flag": {"BOOL": False}}},
    }

    decoded = decode_stream_record(raw(NewImage=image)).new_image

    assert decoded["s"] == "text" and decoded["n"] == Decimal("12.50") and bytes(decoded["b"]) == b"\x00\x01"
    assert decoded["ss"] == {"x", "y"} and decoded["ns"] == {1, 2} and {bytes(b) for b in decoded["bs"]} == {b"\x01"}
    assert decoded["l"] == ["x", None] and decoded["m"] == {"flag": False}


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"NewImage": {"input": {"S": "x", "N": "1"}}}, "NewImage.input: not a DynamoDB value"),
        ({"NewImage": {"input": {"X": "x"}}}, "NewImage.input: not a DynamoDB value of type X"),
        ({"NewImage": {"input": {"S": 5}}}, "NewImage.input: not a DynamoDB value of type S"),
        ({"NewImage": {"n": {"N": "many"}}}, "NewImage.n: many is not a number DynamoDB can hold"),
        ({"NewImage": {"n": {"N": "1" * 39}}}, "is not a number DynamoDB can hold"),
        ({"NewImage": {"n": {"N": "NaN"}}}, "NaN is not a number DynamoDB can hold"),
        ({"NewImage": {"s": {"S": "\ud800"}}}, "NewImage.s: a string that is not valid Unicode"),
        ({"NewImage": {"ss": {"SS": []}}}, "not a DynamoDB value of type SS"),
        ({"NewImage": {"deep": nested(MAX_NESTING + 1)}}, f"nested deeper than DynamoDB's {MAX_NESTING} levels"),
        ({"NewImage": ["not", "a", "map"]}, "NewImage is not a map of attributes"),
        ({"Keys": {"assetId": {"N": "5"}, "batchId": {"S": "b"}}}, "key assetId must be a string of 1 to 2048 bytes"),
        ({"Keys": {"assetId": {"S": ""}, "batchId": {"S": "b"}}}, "key assetId must be a string"),
        ({"Keys": {"assetId": {"S": "a"}, "batchId": {"S": "b" * 1025}}}, "key batchId must be a string of 1 to 1024"),
        ({"SequenceNumber": "12ab"}, "SequenceNumber is not a stream sequence number"),
    ],
)
def test_what_dynamodb_could_not_have_written_is_refused_naming_the_record_and_attribute(change, reason):
    record = raw(**{"NewImage": {"assetId": {"S": "a-1"}}, **change})
    if "Keys" in change or "SequenceNumber" in change:
        record["dynamodb"].update(change)

    with pytest.raises(MalformedRecordError, match=reason) as raised:
        decode_stream_record(record)
    assert "INSERT of asset" in str(raised.value)


def test_nesting_as_deep_as_dynamodb_allows_decodes_and_a_pathological_depth_is_refused_without_recursing():
    assert decode_stream_record(raw(NewImage={"deep": nested(MAX_NESTING)})).new_image["deep"] is not None

    with pytest.raises(MalformedRecordError, match="nested deeper"):
        decode_stream_record(raw(NewImage={"deep": nested(200_000)}))


@given(raw_records)
@example({"eventID": "e", "eventName": "INSERT", "dynamodb": None})
@example("not a record at all")
def test_any_record_decodes_to_a_decided_record_or_the_decoders_own_error(raw):
    try:
        record = decode_stream_record(raw)
    except MalformedRecordError as error:
        assert str(error).startswith(salvaged_record(raw).describe() + ": ")  # named, not crashed
        return
    assert isinstance(record, StreamRecord)
    assert record_position(raw) == record.sequence_number
    for name in ("assetId", "batchId"):
        assert name not in record.keys or isinstance(record.keys[name], str)
    try:
        decision = decide(record, CONFIG)
    except MalformedRecordError as error:
        assert record.sequence_number in str(error)
        return
    assert isinstance(decision, Ignore) or decision.__class__.__name__ in {"QueueFirst", "Advance", "Complete"}


@given(raw_records)
@example(["a", "list"])
@example({"dynamodb": {"Keys": {"assetId": {"N": "5"}}, "SequenceNumber": {"S": "1"}}, "eventID": b"\xff"})
def test_any_record_can_be_salvaged_for_parking_in_short_valid_text(raw):
    record = salvaged_record(raw)

    for text in (record.event_id, record.event_name, record.sequence_number, record.describe()):
        assert isinstance(text, str)
        text.encode("utf-8")
    assert len(record.sequence_number) <= 120 and len(record.asset_id) <= 120


def test_salvaged_records_keep_the_key_text_and_the_typed_images():
    record = salvaged_record(raw(NewImage={"input": {"N": "5"}}))

    assert record.describe() == "INSERT of asset a-1 (batch b-1, sequence 100)"
    assert record.new_image == {"input": {"N": "5"}}
    assert short_text("x" * 500) == "x" * 117 + "..."
    assert short_text(nested(100_000)).startswith("{'L': [")


def test_parents_come_before_their_children_and_a_trimmed_parent_holds_nothing_back():
    shards = [
        {"ShardId": "grandchild", "ParentShardId": "child"},
        {"ShardId": "child", "ParentShardId": "root"},
        {"ShardId": "orphan", "ParentShardId": "trimmed"},
        {"ShardId": "root"},
    ]

    assert [shard["ShardId"] for shard in parents_first(shards)] == ["root", "child", "grandchild", "orphan"]


def test_a_page_ends_at_its_greatest_sequence_number_and_one_without_any_keeps_the_last():
    page = [raw(sequence="300"), "not a record", raw(sequence="1200"), raw(sequence="901")]

    assert position_after(page, "250", "shard-1") == "1200"
    assert position_after(page, None, "shard-1") == "1200"
    assert position_after(["not a record"], "250", "shard-1") == "250"
    assert position_after([], None, "shard-1") is None


def test_a_page_that_does_not_pass_the_last_record_read_is_refused_by_shard_and_number():
    with pytest.raises(
        StreamNotAdvancingError, match="shard shard-1: GetRecords answered 2 record.* 1200 or lower, not after 1200"
    ):
        position_after([raw(sequence="1199"), raw(sequence="1200")], "1200", "shard-1")


SEQUENCE_NUMBERS = st.integers(min_value=0, max_value=10**30)


@given(st.lists(SEQUENCE_NUMBERS, max_size=5), st.none() | SEQUENCE_NUMBERS)
def test_a_page_passes_the_last_record_read_or_is_refused(numbers, after):
    page = [raw(sequence=str(number)) for number in numbers]
    last = None if after is None else str(after)
    if numbers and after is not None and max(numbers) <= after:
        with pytest.raises(StreamNotAdvancingError):
            position_after(page, last, "shard-1")
    else:
        assert position_after(page, last, "shard-1") == (str(max(numbers)) if numbers else last)
