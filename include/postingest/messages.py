"""The bodies sent to confirmer queues and to the notifications topic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
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


def confirmer_payload(item: dict[str, Any], queue: ConfirmerQueue, config: QueueConfig) -> Any:
    """``input`` (JSON) for the first queue; the previous queue's result after it.

    A previous result that is not JSON is sent as a string; an ``input`` that is not
    JSON is an error naming the asset, since the first confirmer cannot use it.
    """
    asset = item.get("assetId", "<no assetId>")
    previous = config.previous(queue)
    if previous is None:
        if "input" not in item:
            raise MalformedRecordError(f"asset {asset}: no input attribute to send to {queue.alias}")
        try:
            return json.loads(item["input"])
        except (TypeError, json.JSONDecodeError) as error:
            raise MalformedRecordError(f"asset {asset}: input is not valid JSON ({error})") from None
    raw = item.get(previous.result_attribute)
    if raw is None:
        raise MalformedRecordError(f"asset {asset}: no {previous.result_attribute} to send to {queue.alias}")
    try:
        return json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        return raw


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
