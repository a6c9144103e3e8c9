"""The stream applier: applies the state table's stream to queues, table and topic, checkpointing.

Drives the state table, queue and notification hooks it is given (the operator's and
the benchmark's alike); decisions come from :mod:`include.postingest.transitions` and
:mod:`include.postingest.messages`, effects go through the hooks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from include.common.progress import ProgressLog
from include.postingest.config import QueueConfig
from include.postingest.effects import Effects, plan_effects
from include.postingest.limits import KAFKA_DEFAULT_MESSAGE_BYTES, SizeLimits, message_limit_from_attribute
from include.postingest.messages import iso_instant, utc_now
from include.postingest.stream import decode_stream_record, record_position, salvaged_record
from include.postingest.transitions import (
    ALREADY_APPLIED,
    APPLY,
    Complete,
    Ignore,
    MalformedRecordError,
    QueueFirst,
    StreamRecord,
    Transition,
    as_malformed,
    decide,
    item_key,
)

log = logging.getLogger(__name__)


class UndeliveredNotificationsError(ConnectionError):
    """The broker did not acknowledge every notification of a page: nothing of it is checkpointed."""


class StateChangeApplier:
    """Applies the state table's stream to queues, table and topic, checkpointing as it goes.

    Per page of records: apply each record's effects in order (queue send, then the
    conditional update or delete, then the notification), confirm every notification
    was delivered, then advance the shard's checkpoint. A crash anywhere replays at
    most the page: each record is checked against the item as it is now
    (``replay_status``), so a replayed record is not sent or advanced twice, and its
    notification goes out again with the same messageId.

    A record that cannot be decided or encoded (:class:`MalformedRecordError` from the
    pure code, or anything else that code raises, see ``as_malformed``) is parked in
    :meth:`_apply`, the one place that parks, and the checkpoint moves past it. Only the
    hooks' own errors (the servers, the network) fail the page.

    ``publisher`` produces (``produce(topic, key=, value=, tag=)``) and reports on the
    broker's answers (``confirm(timeout)``, waiting up to ``delivery_timeout`` seconds);
    ``notification_bytes`` is its connection's ``message.max.bytes``.
    """

    def __init__(
        self,
        *,
        state,
        queues,
        publisher,
        config: QueueConfig,
        topic: str,
        delivery_timeout: float = 30.0,
        notification_bytes: int = KAFKA_DEFAULT_MESSAGE_BYTES,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.state = state
        self.queues = queues
        self.publisher = publisher
        self.config = config
        self.topic = topic
        self.delivery_timeout = delivery_timeout
        self.notification_bytes = notification_bytes
        self.clock = clock
        self.limits = SizeLimits(notification_bytes=notification_bytes)  # with the queues' own, once a run starts
        self.counts = {
            "records": 0,
            "ignored": 0,
            "queued_first": 0,
            "advanced": 0,
            "completed": 0,
            "replayed": 0,
            "items_gone": 0,
            "lost_races": 0,
            "notifications": 0,
        }
        self.parked: list[dict[str, str]] = []
        self.progress = ProgressLog(log, "stream records applied")

    def run(self, *, page_size: int = 100, max_records: int | None = None) -> dict[str, Any]:
        began = time.monotonic()
        self.limits = SizeLimits(
            {queue.alias: self._message_limit(queue.url) for queue in self.config}, self.notification_bytes
        )
        stream_arn = self.state.stream_arn()
        positions = self.state.shard_positions(stream_arn)
        shards = self.state.shards(stream_arn)
        for shard in shards:
            shard_id = shard["ShardId"]
            position = positions.get(shard_id, {})
            if position.get("shardEnded"):
                continue
            parent = shard.get("ParentShardId")
            if parent in {s["ShardId"] for s in shards} and not positions.get(parent, {}).get("shardEnded"):
                log.info("shard %s waits for its parent %s to be drained", shard_id, parent)
                continue
            ended = self._drain_shard(stream_arn, shard_id, position.get("sequenceNumber"), page_size, max_records)
            positions[shard_id] = {"shardEnded": ended}
            if max_records is not None and self.counts["records"] >= max_records:
                break
        seconds = time.monotonic() - began
        summary = {
            **self.counts,
            "parked": self.parked,
            "shards": len(shards),
            "seconds": round(seconds, 3),
            "records_per_second": round(self.counts["records"] / seconds, 1) if seconds else None,
        }
        log.info("run summary: %s", summary)
        return summary

    def _message_limit(self, queue_url: str) -> int:
        return message_limit_from_attribute(self.queues.queue_attributes(queue_url).get("MaximumMessageSize"))

    def _drain_shard(self, stream_arn, shard_id, checkpoint, page_size, max_records) -> bool:
        """Apply the shard's records after ``checkpoint``; returns whether the shard was finished."""
        for page in self.state.read_shard(stream_arn, shard_id, checkpoint, page_size):
            applied_up_to = checkpoint
            try:
                for raw in page.records:
                    self._apply(shard_id, raw)
                    applied_up_to = record_position(raw) or applied_up_to
            except Exception:
                self._checkpoint_after_failure(stream_arn, shard_id, checkpoint, applied_up_to)
                raise
            self._confirm_notifications()  # undelivered: nothing of the page is checkpointed
            if page.records or page.shard_ended:
                self.state.advance_checkpoint(stream_arn, shard_id, checkpoint, applied_up_to, page.shard_ended)
                checkpoint = applied_up_to
                log.info("shard %s: checkpoint %s", shard_id, checkpoint)
                self.progress(self.counts["records"])
            if page.shard_ended:
                return True
            if max_records is not None and self.counts["records"] >= max_records:
                break
        return False

    def _checkpoint_after_failure(self, stream_arn, shard_id, checkpoint, applied_up_to) -> None:
        """Keep the records fully applied before a failure, if their notifications can be confirmed."""
        if applied_up_to == checkpoint:
            return
        try:
            self._confirm_notifications()
            self.state.advance_checkpoint(stream_arn, shard_id, checkpoint, applied_up_to, False)
            log.info("shard %s: checkpointed %s, the last record applied before the failure", shard_id, applied_up_to)
        except Exception as error:  # noqa: BLE001 - the original failure is what gets raised
            log.warning("shard %s: no checkpoint after the failure (%s); the page will be replayed", shard_id, error)

    def _confirm_notifications(self) -> None:
        """Wait for the broker's answers; raise naming how many were not delivered, and examples."""
        deliveries = self.publisher.confirm(self.delivery_timeout)
        if deliveries.failed or deliveries.unconfirmed:
            failed = [f"{tag}: {error}" for tag, error in deliveries.failed.items()]
            examples = failed[:3] or ["broker unreachable"]
            raise UndeliveredNotificationsError(
                f"{len(deliveries.failed) + deliveries.unconfirmed} notification(s) not delivered to topic "
                f"{self.topic} within {self.delivery_timeout:.0f}s: {'; '.join(examples)}"
            )

    def _apply(self, shard_id: str, raw: Any) -> None:
        """Apply one record as the stream gave it, or park it: the one place records are parked."""
        self.counts["records"] += 1
        record = None
        try:
            with as_malformed("stream record"):
                record = decode_stream_record(raw)
            with as_malformed(record.describe()):
                decision = decide(record, self.config)
            if isinstance(decision, Ignore):
                self.counts["ignored"] += 1
                return
            self._apply_transition(record, decision)
        except MalformedRecordError as error:
            record = record or salvaged_record(raw)
            parked = self.state.park(shard_id, record, str(error))
            log.error("parked: %s", parked["error"])  # the error names the record
            self.parked.append(parked)

    def _apply_transition(self, record: StreamRecord, transition: Transition) -> None:
        key = item_key(record.keys)
        current = self.state.current_item(key)
        with as_malformed(record.describe()):
            effects = plan_effects(
                record, transition, current, self.config, now=iso_instant(self.clock()), limits=self.limits
            )
        if effects.status == APPLY:
            if not self._move(key, transition, effects):
                self.counts["lost_races"] += 1
                log.warning("%s: the item changed between read and update; nothing announced", record.describe())
                return
        elif effects.status == ALREADY_APPLIED:
            self.counts["replayed"] += 1
            log.info("%s: already applied before; announcing again with the same messageId", record.describe())
        else:
            self.counts["items_gone"] += 1
            if effects.notification is None:
                log.warning("%s: the item no longer exists; nothing sent or announced", record.describe())
                return
            # the record itself proves the finished queue's result appeared
            log.warning("%s: the item no longer exists; announcing the confirmed step only", record.describe())
        self.publisher.produce(
            self.topic, key=record.keys["assetId"], tag=record.describe(), value=effects.notification
        )
        self.counts["notifications"] += 1

    def _move(self, key: dict[str, str], transition: Transition, effects: Effects) -> bool:
        """Do the planned queue send and table write; False if the item changed meanwhile."""
        if isinstance(transition, Complete):
            done = self.state.delete_if(key, effects.write)
            self.counts["completed"] += done
            return done
        self.queues.send(effects.queue.url, effects.message)
        done = self.state.apply_update(key, effects.write)
        self.counts["queued_first" if isinstance(transition, QueueFirst) else "advanced"] += done
        return done
