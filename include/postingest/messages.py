"""The bodies sent to confirmer queues and to the notifications topic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from include.postingest.config import INGESTED_TEXT, ConfirmerQueue, QueueConfig
from include.postingest.transitions import Advance, Complete, MalformedRecordError, QueueFirst, Transition

UPDATE_TYPE = "preserve.digital.asset.ingest.update"
COMPLETE_TYPE = "preserve.digital.asset.ingest.complete"

# messageIds are derived from the stream record, so a record replayed after a crash
# announces itself with the same id and consumers can drop the repeat.
MESSAGE_ID_NAMESPACE = uuid.UUID("5b0e7a52-6f43-4c55-9d0c-4a4f2f0b7d19")


def utc_now() -> datetime:
    """The wall clock, the default clock of the stream applier and the resender."""
    return datetime.now(UTC)


def iso_instant(moment: datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix: string order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def string_attribute(item: dict[str, Any], name: str) -> str | None:
    """The attribute's text; None if it is absent or NULL; an error naming the type DynamoDB gave it otherwise."""
    value = item.get(name)
    if value is None or isinstance(value, str):
        return value
    raise MalformedRecordError(
        f"asset {item.get('assetId', '<no assetId>')}: {name} is {_dynamodb_type(value)}, not a string"
    )


def _dynamodb_type(value: Any) -> str:
    for kind, name in ((bool, "a boolean"), (Decimal, "a number"), (set, "a set"), (list, "a list"), (dict, "a map")):
        if isinstance(value, kind):
            return name
    return "binary" if hasattr(value, "__bytes__") else type(value).__name__  # bytes, boto3's Binary


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str) -> Any:
    """Parse JSON as the confirmers' own parsers do: NaN and Infinity are not JSON.

    ``ValueError`` when it is not JSON; ``RecursionError`` when it nests too deeply to decode.
    """
    return json.loads(text, parse_constant=_refuse_constant)


def confirmer_payload(item: dict[str, Any], queue: ConfirmerQueue, config: QueueConfig) -> Any:
    """``input`` (JSON) for the first queue; the previous queue's result after it.

    A previous result that is not JSON is sent as a string; an ``input`` that is not
    JSON, and JSON nested too deeply to decode, are errors naming the asset.
    """
    asset = item.get("assetId", "<no assetId>")
    previous = config.previous(queue)
    name = "input" if previous is None else previous.result_attribute
    text = string_attribute(item, name)
    if text is None:
        missing = "no input attribute" if previous is None else f"no {name}"
        raise MalformedRecordError(f"asset {asset}: {missing} to send to {queue.alias}")
    try:
        return strict_json(text)
    except RecursionError:
        raise MalformedRecordError(f"asset {asset}: {name} is JSON nested too deeply to decode") from None
    except ValueError as error:
        if previous is None:
            raise MalformedRecordError(f"asset {asset}: input is not valid JSON ({error})") from None
        return text


def confirmer_message(item: dict[str, Any], queue: ConfirmerQueue, config: QueueConfig) -> str:
    return json.dumps(
        {
            "assetId": item["assetId"],
            "batchId": item["batchId"],
            "resultAttrName": queue.result_attribute,
            "payload": confirmer_payload(item, queue, config),
        }
    )


def notification_status(transition: Transition) -> tuple[str, str]:
    """(messageType, status text) announcing a transition."""
    if isinstance(transition, QueueFirst):
        return UPDATE_TYPE, INGESTED_TEXT
    if isinstance(transition, Advance):
        return UPDATE_TYPE, transition.finished.status_text
    if isinstance(transition, Complete):
        return COMPLETE_TYPE, transition.finished.status_text
    raise TypeError(f"not a transition: {transition!r}")


def notification(
    *,
    asset_id: str,
    batch_id: str,
    correlation_id: str | None,
    transition: Transition,
    message_id: str,
    timestamp: str,
) -> str:
    message_type, status = notification_status(transition)
    return json.dumps(
        {
            "properties": {
                "executionId": batch_id,
                "messageId": message_id,
                "parentMessageId": correlation_id,
                "timestamp": timestamp,
                "messageType": message_type,
            },
            "parameters": {"assetId": asset_id, "status": status},
        }
    )


def notification_message_id(event_id: str) -> str:
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, event_id))
