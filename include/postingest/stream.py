"""What the DynamoDB Streams API returns, as postingest reads it: records, pages, shard order.

:func:`decode_stream_record` decodes strictly: anything DynamoDB could not have written
(a value without exactly one known type tag, a number that is not one, a string that
is not Unicode, nesting deeper than DynamoDB's 32 levels, a key that is not a non-empty
string within DynamoDB's key sizes) is a :class:`MalformedRecordError` naming the
record. boto3's ``TypeDeserializer`` is not used for this: it trusts its input (takes
the first of several tags, passes any value through as a string, turns an unparsable
number into NaN) and recurses without bound.
"""

from __future__ import annotations

import re
import reprlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import DYNAMODB_CONTEXT, Binary

from include.postingest.limits import DYNAMODB_PARTITION_KEY_BYTES, DYNAMODB_SORT_KEY_BYTES
from include.postingest.transitions import MalformedRecordError, StreamRecord

MAX_NESTING = 32  # DynamoDB's own limit on lists and maps within lists and maps
KEY_BYTES = {"assetId": DYNAMODB_PARTITION_KEY_BYTES, "batchId": DYNAMODB_SORT_KEY_BYTES}
_SEQUENCE_NUMBER = re.compile(r"[0-9]{1,40}")
_IMAGES = {"Keys": "keys", "OldImage": "old_image", "NewImage": "new_image"}
_SET_ELEMENTS = {"SS": "S", "NS": "N", "BS": "B"}
_NAMED = reprlib.Repr()  # bounded in depth and length, whatever it is given
_NAMED.maxlevel, _NAMED.maxstring, _NAMED.maxother = 3, 120, 120


class StreamNotAdvancingError(RuntimeError):
    """GetRecords answered records already read: following its iterator would read them again forever."""


@dataclass
class StreamPage:
    """One GetRecords answer, its records as the API gave them; ``shard_ended`` when the shard is closed and this was its last page."""

    records: list[Any]
    shard_ended: bool


def decode_stream_record(raw: Any) -> StreamRecord:
    """A GetRecords record with its keys and images decoded to boto3's plain values (str, Decimal, Binary, set...).

    Raises :class:`MalformedRecordError` naming the record (and the attribute) when DynamoDB
    could not have written it.
    """
    try:
        change = raw["dynamodb"] if isinstance(raw, dict) else None
        if not isinstance(change, dict):
            raise MalformedRecordError("not a stream record")
        for name, value in (("eventID", raw.get("eventID")), ("eventName", raw.get("eventName"))):
            if not isinstance(value, str):
                raise MalformedRecordError(f"{name} is not a string")
        if record_position(raw) is None:
            raise MalformedRecordError("SequenceNumber is not a stream sequence number")
        images = {field: _image(change, name) for name, field in _IMAGES.items()}
        keys = images.pop("keys") or {}
        for name, limit in KEY_BYTES.items():
            if name in keys and not (isinstance(keys[name], str) and 0 < len(keys[name].encode()) <= limit):
                raise MalformedRecordError(f"key {name} must be a string of 1 to {limit} bytes")
    except MalformedRecordError as error:
        raise MalformedRecordError(f"{salvaged_record(raw).describe()}: {error}") from None
    return StreamRecord(
        event_id=raw["eventID"],
        event_name=raw["eventName"],
        sequence_number=change["SequenceNumber"],
        keys=keys,
        **images,
    )


def record_position(raw: Any) -> str | None:
    """The record's sequence number, if it is one (the checkpoint only ever moves to these)."""
    change = raw.get("dynamodb") if isinstance(raw, dict) else None
    number = change.get("SequenceNumber") if isinstance(change, dict) else None
    return number if isinstance(number, str) and _SEQUENCE_NUMBER.fullmatch(number) else None


def position_after(records: list[Any], after: str | None, shard_id: str) -> str | None:
    """The greatest sequence number of a page's ``records``, ``after`` when none has one.

    Raises :class:`StreamNotAdvancingError` when the page has sequence numbers but none
    beyond ``after`` (the last one read, or the checkpoint the read started from): in
    DynamoDB Streams each record's number is greater than those before it in the shard, so
    such a page repeats records, and the iterator that came with it would lead back to them.
    """
    positions = [position for position in map(record_position, records) if position]
    if not positions:
        return after
    greatest = max(positions, key=int)
    if after is not None and int(greatest) <= int(after):
        raise StreamNotAdvancingError(
            f"shard {shard_id}: GetRecords answered {len(records)} record(s) numbered {greatest} or lower, "
            f"not after {after}, the last one read: the stream does not advance; reading stops here "
            "(the checkpoint stays after the last page applied)"
        )
    return greatest


def salvaged_record(raw: Any) -> StreamRecord:
    """What can be read of any record, keys as short text and images left in typed JSON: for parking it.

    Never raises: every part that is not what it should be becomes a short description.
    """
    raw = raw if isinstance(raw, dict) else {"record": raw}
    change = raw.get("dynamodb") if isinstance(raw.get("dynamodb"), dict) else {}
    keys = change.get("Keys") if isinstance(change.get("Keys"), dict) else {}

    def image(name: str) -> dict[str, Any] | None:
        return change[name] if isinstance(change.get(name), dict) else None

    return StreamRecord(
        event_id=short_text(raw.get("eventID")),
        event_name=short_text(raw.get("eventName")),
        sequence_number=short_text(change.get("SequenceNumber")),
        keys={name: short_text(_string_or_typed(keys[name])) for name in KEY_BYTES if name in keys},
        old_image=image("OldImage"),
        new_image=image("NewImage"),
    )


def short_text(value: Any, limit: int = 120) -> str:
    """``value`` as at most ``limit`` characters of valid Unicode, for naming a record in messages and rows."""
    text = value if isinstance(value, str) else _NAMED.repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _string_or_typed(value: Any) -> Any:
    return value["S"] if isinstance(value, dict) and isinstance(value.get("S"), str) else value


def _image(change: dict[str, Any], name: str) -> dict[str, Any] | None:
    if name not in change:
        return None
    if not isinstance(change[name], dict):
        raise MalformedRecordError(f"{name} is not a map of attributes")
    return _decode_map(change[name], name, depth=0)


def _decode_map(attributes: dict[Any, Any], path: str, depth: int) -> dict[str, Any]:
    decoded = {}
    for name, typed in attributes.items():
        if not isinstance(name, str):
            raise MalformedRecordError(f"{path}: attribute name {short_text(name)} is not a string")
        decoded[_unicode(name, path)] = _decode(typed, f"{path}.{short_text(name)}", depth)
    return decoded


def _decode(typed: Any, path: str, depth: int) -> Any:
    if not isinstance(typed, dict) or len(typed) != 1:
        raise MalformedRecordError(f"{path}: not a DynamoDB value (one type tag and its value)")
    [(tag, value)] = typed.items()
    if tag == "S" and isinstance(value, str):
        return _unicode(value, path)
    if tag == "N" and isinstance(value, str):
        return _number(value, path)
    if tag == "B" and isinstance(value, (bytes, bytearray)):
        return Binary(bytes(value))
    if tag == "BOOL" and isinstance(value, bool):
        return value
    if tag == "NULL" and value is True:
        return None
    if tag in _SET_ELEMENTS and isinstance(value, list) and value:
        return {_decode({_SET_ELEMENTS[tag]: element}, path, depth) for element in value}
    if tag in ("L", "M") and depth >= MAX_NESTING:
        raise MalformedRecordError(f"{path}: nested deeper than DynamoDB's {MAX_NESTING} levels")
    if tag == "L" and isinstance(value, list):
        return [_decode(element, f"{path}[{index}]", depth + 1) for index, element in enumerate(value)]
    if tag == "M" and isinstance(value, dict):
        return _decode_map(value, path, depth + 1)
    raise MalformedRecordError(f"{path}: not a DynamoDB value of type {short_text(tag)}")


def _unicode(text: str, path: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedRecordError(f"{path}: a string that is not valid Unicode") from None
    return text


def _number(text: str, path: str) -> Decimal:
    try:
        number = DYNAMODB_CONTEXT.create_decimal(text)
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise MalformedRecordError(f"{path}: {short_text(text)} is not a number DynamoDB can hold")
    return number


def parents_first(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The shards of a DescribeStream answer, each parent before its children.

    A parent that is not listed (trimmed from the stream) does not hold its children back.
    """
    by_id = {shard["ShardId"]: shard for shard in shards}
    ordered: list[dict[str, Any]] = []

    def visit(shard: dict[str, Any]) -> None:
        if shard in ordered:
            return
        parent = by_id.get(shard.get("ParentShardId", ""))
        if parent is not None:
            visit(parent)
        ordered.append(shard)

    for shard in shards:
        visit(shard)
    return ordered
