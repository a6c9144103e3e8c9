"""Which items the resender picks up and how it claims them.

An item is stuck when its ``lastQueued`` is older than the queue's message
retention: SQS has dropped the message by then. The resender claims each item by
setting ``lastQueued`` to now, conditional on the value it read, *before* sending:
of two overlapping runs that read the same item only one claim succeeds, so only
one sends. A send that fails puts the value read back (conditional on the claim),
so the next try finds the item again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from include.postingest.messages import iso_instant
from include.postingest.transitions import ConditionalUpdate

SQS_MAXIMUM_RETENTION = timedelta(days=14)


def retention_from_attribute(value: str | None) -> timedelta:
    """The queue's ``MessageRetentionPeriod`` (seconds); two weeks if absent or unreadable."""
    try:
        seconds = int(value) if value is not None else None
    except ValueError:
        seconds = None
    return timedelta(seconds=seconds) if seconds and seconds > 0 else SQS_MAXIMUM_RETENTION


def stale_cutoff(now: datetime, retention: timedelta) -> str:
    return iso_instant(now - retention)


def claim_update(alias: str, read_last_queued: str, now: str) -> ConditionalUpdate:
    """Set ``lastQueued`` to now, only if the item still waits on ``alias`` with the value read."""
    return ConditionalUpdate(
        update_expression="SET lastQueued = :now",
        condition_expression="#queue = :queue AND lastQueued = :read",
        attribute_names={"#queue": "queue"},
        attribute_values={":now": now, ":queue": alias, ":read": read_last_queued},
    )


def unclaim_update(claimed: str, read_last_queued: str) -> ConditionalUpdate:
    """Put the value read back after a failed send, unless someone moved the item since the claim."""
    return ConditionalUpdate(
        update_expression="SET lastQueued = :read",
        condition_expression="lastQueued = :claimed",
        attribute_values={":read": read_last_queued, ":claimed": claimed},
    )


def item_key(item: dict[str, Any]) -> dict[str, str]:
    return {"assetId": item["assetId"], "batchId": item["batchId"]}
