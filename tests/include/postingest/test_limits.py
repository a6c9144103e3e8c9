"""Server limits and numeric bounds: what is refused before writing, and what falls back to SQS's defaults."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary
from hypothesis import given
from hypothesis import strategies as st

from include.postingest.limits import (
    DYNAMODB_ITEM_BYTES,
    KAFKA_DEFAULT_MESSAGE_BYTES,
    MAX_RECORDS_RANGE,
    SQS_DEFAULT_MESSAGE_BYTES,
    SQS_MAXIMUM_RETENTION,
    InvalidParameterError,
    SizeLimits,
    bounded_int,
    item_bytes,
    kafka_message_limit,
    message_limit_from_attribute,
    retention_from_attribute,
    send_batches,
)
from include.postingest.transitions import MalformedRecordError

FOURTEEN_DAYS = timedelta(days=14)


def test_retention_comes_from_the_queue_with_two_weeks_as_fallback():
    assert retention_from_attribute("345600") == timedelta(days=4)
    assert retention_from_attribute(None) == FOURTEEN_DAYS
    assert retention_from_attribute("garbage") == FOURTEEN_DAYS
    assert retention_from_attribute("0") == FOURTEEN_DAYS
    assert SQS_MAXIMUM_RETENTION == FOURTEEN_DAYS


@given(st.one_of(st.none(), st.text(), st.integers().map(str)))
def test_any_queue_attribute_gives_a_usable_retention_and_message_limit(value):
    assert timedelta(seconds=60) <= retention_from_attribute(value) <= FOURTEEN_DAYS
    assert 1024 <= message_limit_from_attribute(value) <= 1_048_576


def test_a_queues_message_limit_is_its_own_or_256_kib():
    assert message_limit_from_attribute("1024") == 1024
    assert message_limit_from_attribute("1048576") == 1_048_576
    assert message_limit_from_attribute(None) == message_limit_from_attribute("9" * 40) == SQS_DEFAULT_MESSAGE_BYTES


@pytest.mark.parametrize("value", ["lots", "1e5", "+-5", "5.0", True, None, "9" * 30, "١٢"])
def test_numeric_parameters_that_are_not_whole_numbers_are_refused_by_name(value):
    with pytest.raises(InvalidParameterError, match="max_records must be a whole number from 1 to 1000000"):
        bounded_int(value, "max_records", MAX_RECORDS_RANGE)


def test_numeric_parameters_are_bounded_on_both_sides():
    assert bounded_int("50000", "max_records", MAX_RECORDS_RANGE) == 50_000
    assert bounded_int(" 7 ", "max_records", MAX_RECORDS_RANGE) == 7
    for outside in (0, -3, 1_000_001, 10**17):
        with pytest.raises(InvalidParameterError, match=f"max_records must be from 1 to 1000000, got {outside}"):
            bounded_int(outside, "max_records", MAX_RECORDS_RANGE)


def test_the_kafka_limit_is_the_connections_message_max_bytes():
    assert kafka_message_limit(None) == KAFKA_DEFAULT_MESSAGE_BYTES
    assert kafka_message_limit("5000") == kafka_message_limit(5000) == 5000
    with pytest.raises(InvalidParameterError, match="message.max.bytes of the Kafka connection"):
        kafka_message_limit("12")


def test_item_size_counts_names_and_values_as_dynamodb_does():
    assert item_bytes({"ab": "cdé"}) == 2 + 4
    assert item_bytes({"n": Decimal("12345")}) == 1 + 4
    assert item_bytes({"b": Binary(b"\x00" * 10), "x": None, "t": True}) == 11 + 2 + 2
    assert item_bytes({"l": ["ab", {"k": "v"}]}) == 1 + 3 + (1 + 2) + (1 + 3 + 1 + 1 + 1)
    assert item_bytes({"s": {"a", "bc"}}) == 1 + 3


def test_each_limit_names_the_asset_and_the_sizes():
    limits = SizeLimits({"CC": 1024}, notification_bytes=100)

    limits.check_message("a-1", "CC", "x" * 1024)
    with pytest.raises(MalformedRecordError, match="asset a-1: the message for queue CC has 1025 bytes, over the 1024"):
        limits.check_message("a-1", "CC", "x" * 1025)
    assert limits.message_limit("TC") == SQS_DEFAULT_MESSAGE_BYTES
    with pytest.raises(MalformedRecordError, match="the notification has 137 bytes, over the 100 of the Kafka"):
        limits.check_notification("a-1", "k", "v" * 100)
    limits.check_item("a-1", {"pad": "x" * (DYNAMODB_ITEM_BYTES - 3)})
    with pytest.raises(MalformedRecordError, match=f"after the update, over DynamoDB's {DYNAMODB_ITEM_BYTES}"):
        limits.check_item("a-1", {"pad": "x" * (DYNAMODB_ITEM_BYTES - 2)})


def test_send_batches_keep_order_and_both_the_count_and_the_total_size():
    bodies = ["a" * 400, "b" * 400, "c" * 400, "d", "e", "f", "g"]

    assert send_batches(bodies, 3, 1000) == [[0, 1], [2, 3, 4], [5, 6]]
    assert send_batches(bodies, 10, 1_000_000) == [list(range(7))]
    assert send_batches(["x"] * 4, 1, 1000) == [[0], [1], [2], [3]]
    assert send_batches([], 10, 1000) == []
