"""What applying one decided stream record does, every body built and every size checked before the first write.

:func:`plan_effects` is pure: given the record, its transition and the item as it is
now, it returns the queue message, the conditional write and the notification, or
raises :class:`MalformedRecordError`. The applier carries the plan out only when it
was built whole, so a record is parked before any of its effects, or after all of
them (a replay whose effects were done before: nothing is redone), never halfway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from include.postingest.config import ConfirmerQueue, QueueConfig
from include.postingest.limits import SizeLimits
from include.postingest.messages import confirmer_message, notification, notification_message_id, string_attribute
from include.postingest.transitions import (
    APPLY,
    ITEM_GONE,
    Advance,
    Complete,
    ConditionalUpdate,
    QueueFirst,
    StreamRecord,
    Transition,
    completed_delete_condition,
    queued_update,
    replay_status,
)


@dataclass(frozen=True)
class Effects:
    """The plan of one record: ``status`` (from :func:`replay_status`) and what to send and write.

    With status APPLY: ``message`` goes to ``queue`` and ``write`` is the queued update,
    or (``queue`` None) ``write`` is the final delete's condition. ``notification`` is
    None only when nothing is to be announced (the item is gone and the record does not
    itself prove a step).
    """

    status: str
    notification: str | None = None
    queue: ConfirmerQueue | None = None
    message: str | None = None
    write: ConditionalUpdate | None = None


def plan_effects(
    record: StreamRecord,
    transition: Transition,
    current: dict[str, Any] | None,
    config: QueueConfig,
    *,
    now: str,
    limits: SizeLimits,
) -> Effects:
    """Everything the record's transition sends and writes, given the item as it is now."""
    status = replay_status(transition, current)
    if status == ITEM_GONE and not isinstance(transition, Advance):
        return Effects(status)
    asset = record.keys["assetId"]
    image = current or record.new_image or {}
    announcement = notification(
        asset_id=asset,
        batch_id=record.keys["batchId"],
        correlation_id=string_attribute(image, "correlationId"),
        transition=transition,
        message_id=notification_message_id(record.event_id),
        timestamp=now,
    )
    limits.check_notification(asset, asset, announcement)
    if status != APPLY:
        return Effects(status, announcement)
    if isinstance(transition, Complete):
        return Effects(status, announcement, write=completed_delete_condition(transition))
    target = transition.queue if isinstance(transition, QueueFirst) else transition.next
    message = confirmer_message(current, target, config)
    limits.check_message(asset, target.alias, message)
    update = queued_update(transition, now)
    limits.check_item(asset, update.item_after(current))
    return Effects(status, announcement, target, message, update)
