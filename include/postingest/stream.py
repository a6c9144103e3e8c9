"""What the DynamoDB Streams API returns, as postingest reads it: records, pages, shard order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from include.postingest.transitions import StreamRecord

_DESERIALIZER = TypeDeserializer()


@dataclass
class StreamPage:
    """One GetRecords answer; ``shard_ended`` when the shard is closed and this was its last page."""

    records: list[StreamRecord]
    shard_ended: bool


def decode_stream_record(raw: dict[str, Any]) -> StreamRecord:
    """A GetRecords record, its keys and images decoded from DynamoDB's typed JSON to plain values."""
    change = raw["dynamodb"]

    def image(name: str) -> dict[str, Any] | None:
        return {k: _DESERIALIZER.deserialize(v) for k, v in change[name].items()} if name in change else None

    return StreamRecord(
        event_id=raw["eventID"],
        event_name=raw["eventName"],
        sequence_number=change["SequenceNumber"],
        keys=image("Keys") or {},
        old_image=image("OldImage"),
        new_image=image("NewImage"),
    )


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
