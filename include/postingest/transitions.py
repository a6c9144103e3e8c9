"""The state machine over the state table's stream: which queue, which message, which update.

:func:`decide` turns one stream record into a :class:`Transition` (or an ignore);
:func:`replay_status` compares a transition with the item as it is now, so a
record applied before a crash is recognised and not applied twice; the ``*_update``
functions give the conditional DynamoDB writes that make each step idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from include.postingest.config import ConfirmerQueue, QueueConfig


class MalformedRecordError(ValueError):
    """A stream record (or the item it names) that cannot be decided or encoded: it is parked, or reported."""


@contextmanager
def as_malformed(subject: str) -> Iterator[None]:
    """Whatever the pure code inside raises becomes a :class:`MalformedRecordError` about ``subject``.

    Only decoding, deciding and encoding run inside (no I/O), so any other exception
    there comes from the record itself; infrastructure errors never pass through here.
    """
    try:
        yield
    except MalformedRecordError:
        raise
    except Exception as error:  # noqa: BLE001 - the record's problem, whatever its kind
        raise MalformedRecordError(f"{subject}: cannot be handled ({type(error).__name__}: {error})") from error


@dataclass(frozen=True)
class StreamRecord:
    """One DynamoDB stream record with its images already decoded to plain values."""

    event_id: str
    event_name: str
    sequence_number: str
    keys: dict[str, Any]
    old_image: dict[str, Any] | None = None
    new_image: dict[str, Any] | None = None

    @property
    def asset_id(self) -> str:
        return str(self.keys.get("assetId", "<no assetId>"))

    @property
    def batch_id(self) -> str:
        return str(self.keys.get("batchId", "<no batchId>"))

    def describe(self) -> str:
        return f"{self.event_name} of asset {self.asset_id} (batch {self.batch_id}, sequence {self.sequence_number})"


def item_key(item: dict[str, Any]) -> dict[str, str]:
    """The state table key (``assetId``, ``batchId``) of an item or of a stream record's keys."""
    return {"assetId": item["assetId"], "batchId": item["batchId"]}


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class QueueFirst:
    """A new asset: send it to the order-1 queue and announce the ingest."""

    queue: ConfirmerQueue


@dataclass(frozen=True)
class Advance:
    """``finished`` confirmed the asset: send it to ``next`` and announce the finished step."""

    finished: ConfirmerQueue
    next: ConfirmerQueue


@dataclass(frozen=True)
class Complete:
    """The last queue confirmed the asset: delete the item and announce completion."""

    finished: ConfirmerQueue


Transition = QueueFirst | Advance | Complete


def decide(record: StreamRecord, config: QueueConfig) -> Transition | Ignore:
    """What the record asks for; raise :class:`MalformedRecordError` if it cannot say."""
    if "assetId" not in record.keys or "batchId" not in record.keys:
        raise MalformedRecordError(f"{record.describe()}: keys lack assetId or batchId: {sorted(record.keys)}")
    if record.event_name == "REMOVE":
        return Ignore("item removed")
    if record.event_name == "INSERT":
        if record.new_image is None:
            raise MalformedRecordError(f"{record.describe()}: INSERT without a new image")
        return QueueFirst(config.first)
    if record.event_name == "MODIFY":
        if record.old_image is None or record.new_image is None:
            missing = "old" if record.old_image is None else "new"
            raise MalformedRecordError(f"{record.describe()}: MODIFY without the {missing} image")
        finished = _queue_confirmed_by(record.old_image, record.new_image, config)
        if finished is None:
            return Ignore("no queue result appeared")
        if config.is_last(finished):
            return Complete(finished)
        return Advance(finished, config.next_after(finished))
    raise MalformedRecordError(f"{record.describe()}: unknown event name")


def _queue_confirmed_by(old: dict[str, Any], new: dict[str, Any], config: QueueConfig) -> ConfirmerQueue | None:
    """The queue the asset waited on before and after whose result appeared with this change."""
    for queue in config:
        if old.get("queue") == queue.alias == new.get("queue"):
            if queue.result_attribute not in old and queue.result_attribute in new:
                return queue
    return None


APPLY, ALREADY_APPLIED, ITEM_GONE = "apply", "already applied", "item gone"


def replay_status(transition: Transition, current_item: dict[str, Any] | None) -> str:
    """Whether the transition is still to do, given the item read (strongly consistent) now.

    The queue send happens before the conditional update, so an item that already
    moved past the transition's starting point was sent its message too.
    """
    if isinstance(transition, Complete):
        return APPLY if current_item is not None else ALREADY_APPLIED
    if current_item is None:
        return ITEM_GONE
    if isinstance(transition, QueueFirst):
        return ALREADY_APPLIED if "queue" in current_item else APPLY
    return APPLY if current_item.get("queue") == transition.finished.alias else ALREADY_APPLIED


@dataclass(frozen=True)
class ConditionalUpdate:
    """The parameters of one conditional UpdateItem (boto3's names)."""

    update_expression: str
    condition_expression: str
    attribute_names: dict[str, str] = field(default_factory=dict)
    attribute_values: dict[str, Any] = field(default_factory=dict)
    assigned: dict[str, Any] = field(default_factory=dict)  # attribute -> value the update sets

    def item_after(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as the update leaves it (to check its size before writing)."""
        return {**item, **self.assigned}

    def as_boto3_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "UpdateExpression": self.update_expression,
            "ConditionExpression": self.condition_expression,
            "ExpressionAttributeValues": self.attribute_values,
        }
        if self.attribute_names:
            params["ExpressionAttributeNames"] = self.attribute_names
        return params


def queued_update(transition: QueueFirst | Advance, now: str) -> ConditionalUpdate:
    """Record that the asset now waits on a queue; refuses to move an asset twice."""
    target = transition.queue if isinstance(transition, QueueFirst) else transition.next
    values = {":queue": target.alias, ":now": now}
    if isinstance(transition, QueueFirst):
        condition = "attribute_exists(assetId) AND attribute_not_exists(#queue)"
    else:
        condition = "#queue = :finished"
        values[":finished"] = transition.finished.alias
    return ConditionalUpdate(
        update_expression="SET #queue = :queue, firstQueued = :now, lastQueued = :now",
        condition_expression=condition,
        attribute_names={"#queue": "queue"},
        attribute_values=values,
        assigned={"queue": target.alias, "firstQueued": now, "lastQueued": now},
    )


def completed_delete_condition(transition: Complete) -> ConditionalUpdate:
    """The condition of the final delete: only while the asset still waits on the last queue."""
    return ConditionalUpdate(
        update_expression="",
        condition_expression="#queue = :finished",
        attribute_names={"#queue": "queue"},
        attribute_values={":finished": transition.finished.alias},
    )
