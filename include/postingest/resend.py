"""Which items the resender picks up and how it claims them.

An item is stuck when its ``lastQueued`` is older than the queue's message
retention: SQS has dropped the message by then. Before sending, the resender
claims the item with a conditional write of a short *lease* value into
``lastQueued``: an overlapping run that read the same item fails its own claim and
does not send, and if the run dies between claim and send, the lease runs out
within minutes and the next run picks the item up again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from include.postingest.messages import iso_instant
from include.postingest.transitions import ConditionalUpdate

SQS_MAXIMUM_RETENTION = timedelta(days=14)
CLAIM_LEASE = timedelta(minutes=10)


def retention_from_attribute(value: str | None) -> timedelta:
    """The queue's ``MessageRetentionPeriod`` (seconds); two weeks if absent or unreadable."""
    try:
        seconds = int(value) if value is not None else None
    except ValueError:
        seconds = None
    return timedelta(seconds=seconds) if seconds and seconds > 0 else SQS_MAXIMUM_RETENTION


def stale_cutoff(now: datetime, retention: timedelta) -> str:
    return iso_instant(now - retention)


def claim_value(now: datetime, retention: timedelta) -> str:
    """A ``lastQueued`` that is not stale now, and is stale again once the lease has run out."""
    return iso_instant(now - retention + CLAIM_LEASE)


def claim_update(alias: str, read_last_queued: str, claim: str) -> ConditionalUpdate:
    return ConditionalUpdate(
        update_expression="SET lastQueued = :claim",
        condition_expression="#queue = :queue AND lastQueued = :read",
        attribute_names={"#queue": "queue"},
        attribute_values={":claim": claim, ":queue": alias, ":read": read_last_queued},
    )


def release_update(claim: str, new_value: str) -> ConditionalUpdate:
    """Set ``lastQueued`` after the send (``now``) or back (the value read) if it failed."""
    return ConditionalUpdate(
        update_expression="SET lastQueued = :value",
        condition_expression="lastQueued = :claim",
        attribute_values={":value": new_value, ":claim": claim},
    )


def item_key(item: dict[str, Any]) -> dict[str, str]:
    return {"assetId": item["assetId"], "batchId": item["batchId"]}
