"""The resender: re-sends the message of every item stuck on a queue longer than its retention.

An item is stuck when its ``lastQueued`` is older than the queue's message
retention: SQS has dropped the message by then. The resender claims each item by
setting ``lastQueued`` to now, conditional on the value it read, *before* sending:
of two overlapping runs that read the same item only one claim succeeds, so only
one sends. A send that fails puts the value read back (conditional on the claim),
so the next try finds the item again. An item whose message cannot be built, or
would be refused for its size, is listed as ``unsendable`` and left unclaimed; the
other items and queues go on.

:class:`StuckMessageResender` drives the state table and queue hooks (the operator's
and the benchmark's alike); the functions are its decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from include.common.progress import ProgressLog
from include.postingest.config import ConfirmerQueue, QueueConfig
from include.postingest.limits import SizeLimits, message_limit_from_attribute, retention_from_attribute
from include.postingest.messages import confirmer_message, iso_instant, utc_now
from include.postingest.transitions import ConditionalUpdate, MalformedRecordError, as_malformed, item_key

log = logging.getLogger(__name__)


def stale_cutoff(now: datetime, retention: timedelta) -> str:
    return iso_instant(now - retention)


def claim_update(alias: str, read_last_queued: str, now: str) -> ConditionalUpdate:
    """Set ``lastQueued`` to now, only if the item still waits on ``alias`` with the value read."""
    return ConditionalUpdate(
        update_expression="SET lastQueued = :now",
        condition_expression="#queue = :queue AND lastQueued = :read",
        attribute_names={"#queue": "queue"},
        attribute_values={":now": now, ":queue": alias, ":read": read_last_queued},
        assigned={"lastQueued": now},
    )


def unclaim_update(claimed: str, read_last_queued: str) -> ConditionalUpdate:
    """Put the value read back after a failed send, unless someone moved the item since the claim."""
    return ConditionalUpdate(
        update_expression="SET lastQueued = :read",
        condition_expression="lastQueued = :claimed",
        attribute_values={":read": read_last_queued, ":claimed": claimed},
    )


class StuckMessageResender:
    """Per queue: cutoff from the queue's retention, Query the GSI for older items, claim, send.

    Sends go in batches of ten, together within the queue's ``MaximumMessageSize``; a
    failed send puts the value read back, so the next try finds the item again. ``stale_items`` may be swapped (the benchmark's
    Scan-based comparison); by default it is the state hook's GSI Query.
    """

    def __init__(
        self,
        *,
        state,
        queues,
        config: QueueConfig,
        clock: Callable[[], datetime] = utc_now,
        stale_items: Callable[[str, str], Iterator[dict[str, Any]]] | None = None,
    ) -> None:
        self.state = state
        self.queues = queues
        self.config = config
        self.clock = clock
        self.stale_items = stale_items or self.state.stale_items

    def run(self) -> dict[str, Any]:
        now = self.clock()
        summary: dict[str, Any] = {"now": iso_instant(now), "queues": {}, "unsendable": [], "send_failures": []}
        for queue in self.config:
            summary["queues"][queue.alias] = self._resend_queue(queue, now, summary)
        log.info("run summary: %s", summary)
        return summary

    def _resend_queue(self, queue: ConfirmerQueue, now: datetime, summary: dict[str, Any]) -> dict[str, Any]:
        attributes = self.queues.queue_attributes(queue.url)
        cutoff = stale_cutoff(now, retention_from_attribute(attributes.get("MessageRetentionPeriod")))
        limits = SizeLimits({queue.alias: message_limit_from_attribute(attributes.get("MaximumMessageSize"))})
        claim = iso_instant(now)
        counts = {"cutoff": cutoff, "stale": 0, "resent": 0, "claimed_elsewhere": 0, "failed": 0, "unsendable": 0}
        batch: list[tuple[dict[str, Any], str]] = []
        progress = ProgressLog(log, f"queue {queue.alias} stale items handled")
        for item in self.stale_items(queue.alias, cutoff):
            counts["stale"] += 1
            progress(counts["stale"])
            try:
                with as_malformed(f"asset {item.get('assetId')}"):
                    update = claim_update(queue.alias, item["lastQueued"], claim)
                    body = confirmer_message(item, queue, self.config)
                    limits.check_message(item["assetId"], queue.alias, body)
                    limits.check_item(item["assetId"], update.item_after(item))
            except MalformedRecordError as error:
                counts["unsendable"] += 1
                summary["unsendable"].append(
                    {"assetId": item.get("assetId"), "queue": queue.alias, "error": str(error)}
                )
                log.error("cannot resend to %s: %s", queue.alias, error)
                continue
            if not self.state.apply_update(item_key(item), update):
                counts["claimed_elsewhere"] += 1
                continue
            # SendMessageBatch refuses a batch whose bodies together exceed the queue's limit
            if batch and sum(len(sent) for _, sent in batch) + len(body) > limits.message_limit(queue.alias):
                self._send(queue, batch, claim, counts, summary)
                batch = []
            batch.append((item, body))
            if len(batch) == self.queues.batch_limit:
                self._send(queue, batch, claim, counts, summary)
                batch = []
        if batch:
            self._send(queue, batch, claim, counts, summary)
        log.info("queue %s: %s", queue.alias, counts)
        return counts

    def _send(self, queue: ConfirmerQueue, batch, claim: str, counts, summary) -> None:
        failures = self.queues.send_batch(queue.url, [body for _, body in batch])
        for index, (item, _) in enumerate(batch):
            if index in failures:
                counts["failed"] += 1
                problem = {"assetId": item["assetId"], "queue": queue.alias, "error": failures[index]}
                summary["send_failures"].append(problem)
                log.error("resend of asset %s to %s failed: %s", item["assetId"], queue.alias, failures[index])
                self.state.apply_update(item_key(item), unclaim_update(claim, item["lastQueued"]))
            else:
                counts["resent"] += 1
