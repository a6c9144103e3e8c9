"""What the servers refuse and how far postingest's numbers may go, defined once and checked before writing.

A record or item that a server would refuse (an SQS message, a DynamoDB item or a Kafka
message over its size) is found here, before anything is sent or written, so it is
parked or reported by name instead of failing its page on every retry. Numeric inputs
(params, queue attributes, connection settings) are bounded here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from include.postingest.transitions import MalformedRecordError

# DynamoDB: the 400 KB item limit, counted as item_bytes does (decimal, a margin below
# AWS's 409,600), and the key limits
DYNAMODB_ITEM_BYTES = 400_000
DYNAMODB_PARTITION_KEY_BYTES = 2048
DYNAMODB_SORT_KEY_BYTES = 1024
# SQS: a queue's MaximumMessageSize lies in this range (1 KiB..1 MiB); when it cannot be
# read, 256 KiB (the limit of every queue made before 2025, and still many)
SQS_MESSAGE_BYTES_RANGE = (1024, 1_048_576)
SQS_DEFAULT_MESSAGE_BYTES = 262_144
SQS_MAXIMUM_RETENTION = timedelta(days=14)
SQS_RETENTION_SECONDS_RANGE = (60, int(SQS_MAXIMUM_RETENTION.total_seconds()))
# Kafka: librdkafka's message.max.bytes (its default and its allowed range); it counts
# key, value and at most 36 bytes of record framing (measured) against it
KAFKA_DEFAULT_MESSAGE_BYTES = 1_000_000
KAFKA_MESSAGE_BYTES_RANGE = (1000, 1_000_000_000)
KAFKA_RECORD_FRAMING_BYTES = 36

# stream records per state-change run: beyond what one run reaches in its 25-minute timeout
DEFAULT_MAX_RECORDS = 50_000
MAX_RECORDS_RANGE = (1, 1_000_000)
# records per GetRecords call: the API's own range
PAGE_SIZE_RANGE = (1, 1000)
# assets the stream applier works on at once (its thread pool), and its default, measured
# with bench/postingest_applier (docs/postingest.md has the curve)
CONCURRENCY_RANGE = (1, 32)
DEFAULT_CONCURRENCY = 16


class InvalidParameterError(ValueError):
    """A parameter or setting outside what postingest accepts; the task fails at once, naming it."""


def bounded_int(value: Any, name: str, bounds: tuple[int, int]) -> int:
    """``value`` (an int or its decimal text, as a templated field renders) within ``bounds``, both included."""
    low, high = bounds
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
        raise InvalidParameterError(f"{name} must be a whole number from {low} to {high}, got {str(value)[:50]!r}")
    number = int(text)
    if not low <= number <= high:
        raise InvalidParameterError(f"{name} must be from {low} to {high}, got {number}")
    return number


def _attribute_in(value: str | None, bounds: tuple[int, int]) -> int | None:
    """A numeric attribute read from a server, or None when it is absent, not a number or out of ``bounds``."""
    try:
        return bounded_int(value, "attribute", bounds)
    except InvalidParameterError:
        return None


def retention_from_attribute(value: str | None) -> timedelta:
    """The queue's ``MessageRetentionPeriod`` (seconds); two weeks if absent, unreadable or out of SQS's range."""
    seconds = _attribute_in(value, SQS_RETENTION_SECONDS_RANGE)
    return SQS_MAXIMUM_RETENTION if seconds is None else timedelta(seconds=seconds)


def message_limit_from_attribute(value: str | None) -> int:
    """The queue's ``MaximumMessageSize`` (bytes); 256 KiB if absent, unreadable or out of SQS's range."""
    limit = _attribute_in(value, SQS_MESSAGE_BYTES_RANGE)
    return SQS_DEFAULT_MESSAGE_BYTES if limit is None else limit


def kafka_message_limit(value: Any) -> int:
    """The producer connection's ``message.max.bytes``; librdkafka's default when it sets none."""
    if value is None:
        return KAFKA_DEFAULT_MESSAGE_BYTES
    return bounded_int(value, "message.max.bytes of the Kafka connection", KAFKA_MESSAGE_BYTES_RANGE)


def item_bytes(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names and values, strings in UTF-8.

    Numbers count as their significant digits halved plus one (AWS's documented
    approximation, rounded up); lists and maps 3 bytes plus 1 per element.
    """
    return sum(_utf8_bytes(name) + _value_bytes(value) for name, value in item.items())


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _value_bytes(value: Any) -> int:
    if isinstance(value, str):
        return _utf8_bytes(value)
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, (int, Decimal)):
        digits = len(Decimal(value).as_tuple().digits)
        return (digits + 1) // 2 + 1
    if isinstance(value, (bytes, bytearray)) or hasattr(value, "__bytes__"):  # boto3's Binary too
        return len(bytes(value))
    if isinstance(value, (set, frozenset)):
        return sum(_value_bytes(element) for element in value)
    if isinstance(value, (list, tuple)):
        return 3 + sum(1 + _value_bytes(element) for element in value)
    if isinstance(value, Mapping):
        return 3 + sum(1 + _utf8_bytes(name) + _value_bytes(element) for name, element in value.items())
    raise TypeError(f"not a DynamoDB value: {type(value).__name__}")


@dataclass(frozen=True)
class SizeLimits:
    """The sizes the confirmer queues, the notifications topic and the state table accept.

    ``message_bytes`` holds each queue's limit by alias (queues not listed get SQS's
    256 KiB); every check raises :class:`MalformedRecordError` naming the asset and the sizes.
    """

    message_bytes: Mapping[str, int] = field(default_factory=dict)
    notification_bytes: int = KAFKA_DEFAULT_MESSAGE_BYTES
    item_limit: int = DYNAMODB_ITEM_BYTES

    def message_limit(self, alias: str) -> int:
        return self.message_bytes.get(alias, SQS_DEFAULT_MESSAGE_BYTES)

    def check_message(self, asset: str, alias: str, body: str) -> None:
        size, limit = len(body.encode("utf-8")), self.message_limit(alias)
        if size > limit:
            raise MalformedRecordError(
                f"asset {asset}: the message for queue {alias} has {size} bytes, over the {limit} it accepts"
            )

    def check_notification(self, asset: str, key: str, value: str) -> None:
        size = len(key.encode("utf-8")) + len(value.encode("utf-8")) + KAFKA_RECORD_FRAMING_BYTES
        if size > self.notification_bytes:
            raise MalformedRecordError(
                f"asset {asset}: the notification has {size} bytes, over the {self.notification_bytes} "
                "of the Kafka connection's message.max.bytes"
            )

    def check_item(self, asset: str, item: Mapping[str, Any]) -> None:
        size = item_bytes(item)
        if size > self.item_limit:
            raise MalformedRecordError(
                f"asset {asset}: the item would have {size} bytes after the update, over DynamoDB's {self.item_limit}"
            )


def send_batches(bodies: list[str], max_entries: int, max_bytes: int) -> list[list[int]]:
    """The indexes of ``bodies`` grouped into SendMessageBatch calls, in order: at most
    ``max_entries`` a call, their bodies together within ``max_bytes`` (SQS refuses a batch
    over the queue's ``MaximumMessageSize`` in total). Each body is within it on its own."""
    batches: list[list[int]] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body.encode("utf-8"))
        if not batches or len(batches[-1]) == max_entries or size + length > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(index)
        size += length
    return batches
