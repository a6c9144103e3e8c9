"""The stream applier: applies the state table's stream to queues, table and topic, checkpointing.

Drives the state table, queue and notification hooks it is given (the operator's and
the benchmark's alike); decisions come from :mod:`include.postingest.transitions` and
:mod:`include.postingest.messages`, effects go through the hooks.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from include.common.progress import ProgressLog
from include.postingest.config import QueueConfig
from include.postingest.effects import Effects, plan_effects
from include.postingest.limits import (
    DEFAULT_CONCURRENCY,
    KAFKA_DEFAULT_MESSAGE_BYTES,
    SizeLimits,
    message_limit_from_attribute,
    send_batches,
)
from include.postingest.messages import iso_instant, utc_now
from include.postingest.stream import decode_stream_record, record_position, salvaged_record
from include.postingest.transitions import (
    ALREADY_APPLIED,
    APPLY,
    ITEM_GONE,
    Advance,
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


class UndeliveredMessagesError(ConnectionError):
    """SQS did not take every confirmer message of a round, after retrying: those records are not done."""


@dataclass
class _Decided:
    """A record of the page with something to do: its place in the page, the record, its transition, its plan."""

    index: int
    record: StreamRecord
    transition: Transition
    effects: Effects | None = None

    @property
    def key(self) -> dict[str, str]:
        return item_key(self.record.keys)


class StateChangeApplier:
    """Applies the state table's stream to queues, table and topic, checkpointing as it goes.

    Per page of records: decode and decide every record, then apply the page in rounds,
    each round taking the next record of every asset that has one, so the records of one
    asset keep their stream order while different assets go together. A round reads its
    items at once (BatchGetItem), plans every record's effects, sends the confirmer
    messages grouped per queue (SendMessageBatch), does the conditional updates and
    deletes on a pool of ``concurrency`` threads, then produces the notifications. Once
    the page's notifications are confirmed by the broker, the shard's checkpoint moves
    past the page. A crash anywhere replays at most the page: each record is checked
    against the item as it is now (``replay_status``), so a replayed record is not sent
    or advanced twice, and its notification goes out again with the same messageId. When
    a page fails part way, the checkpoint still moves past the records at its start whose
    effects were all done (a contiguous prefix), if their notifications can be confirmed.

    A record that cannot be decided or encoded (:class:`MalformedRecordError` from the
    pure code, or anything else that code raises, see ``as_malformed``) is parked by
    :meth:`_park`, from the two places the pure code runs, and the checkpoint moves past
    it. Only the hooks' own errors (the servers, the network) fail the page.

    ``publisher`` produces (``produce(topic, key=, value=, tag=)``) and reports on the
    broker's answers (``confirm(timeout)``, waiting up to ``delivery_timeout`` seconds);
    ``notification_bytes`` is its connection's ``message.max.bytes``. The hooks' batch
    sizes (``queues.batch_limit``, ``state.batch_read_limit``) and ``concurrency`` are
    what the benchmark turns down to 1 to compare with applying one record at a time.
    """

    def __init__(
        self,
        *,
        state,
        queues,
        publisher,
        config: QueueConfig,
        topic: str,
        concurrency: int = DEFAULT_CONCURRENCY,
        delivery_timeout: float = 30.0,
        notification_bytes: int = KAFKA_DEFAULT_MESSAGE_BYTES,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.state = state
        self.queues = queues
        self.publisher = publisher
        self.config = config
        self.topic = topic
        self.concurrency = concurrency
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
        self._pool: ThreadPoolExecutor | None = None

    def run(self, *, page_size: int = 100, max_records: int | None = None) -> dict[str, Any]:
        began = time.monotonic()
        self.limits = SizeLimits(
            {queue.alias: self._message_limit(queue.url) for queue in self.config}, self.notification_bytes
        )
        stream_arn = self.state.stream_arn()
        positions = self.state.shard_positions(stream_arn)
        shards = self.state.shards(stream_arn)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="postingest-apply") as self._pool:
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
            "concurrency": self.concurrency,
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
            done = [False] * len(page.records)
            try:
                self._apply_page(shard_id, page.records, done)
            except Exception:
                applied_up_to = _done_up_to(page.records, done, checkpoint)
                self._checkpoint_after_failure(stream_arn, shard_id, checkpoint, applied_up_to)
                raise
            self._confirm_notifications()  # undelivered: nothing of the page is checkpointed
            if page.records or page.shard_ended:
                applied_up_to = _done_up_to(page.records, done, checkpoint)
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

    def _apply_page(self, shard_id: str, records: list[Any], done: list[bool]) -> None:
        """Apply a page's records, one round per record of an asset; ``done[i]`` once record i's effects are all done."""
        chains: dict[tuple[str, str], deque[_Decided]] = {}
        for index, raw in enumerate(records):
            self.counts["records"] += 1
            decided = self._decide(shard_id, index, raw)
            if decided is None:
                done[index] = True
            else:
                chains.setdefault(tuple(decided.key.values()), deque()).append(decided)
        while chains:
            self._apply_round(shard_id, [chain.popleft() for chain in chains.values()], done)
            chains = {asset: chain for asset, chain in chains.items() if chain}

    def _decide(self, shard_id: str, index: int, raw: Any) -> _Decided | None:
        """The record decoded and decided; None when it is ignored or parked."""
        record = None
        try:
            with as_malformed("stream record"):
                record = decode_stream_record(raw)
            with as_malformed(record.describe()):
                decision = decide(record, self.config)
        except MalformedRecordError as error:
            self._park(shard_id, record or salvaged_record(raw), error)
            return None
        if isinstance(decision, Ignore):
            self.counts["ignored"] += 1
            return None
        return _Decided(index, record, decision)

    def _park(self, shard_id: str, record: StreamRecord, error: MalformedRecordError) -> None:
        parked = self.state.park(shard_id, record, str(error))
        log.error("parked: %s", parked["error"])  # the error names the record
        self.parked.append(parked)

    def _apply_round(self, shard_id: str, round_: list[_Decided], done: list[bool]) -> None:
        """At most one record per asset: read, plan, send, write, announce; raise after the round if any failed."""
        currents = self.state.current_items([decided.key for decided in round_])
        now = iso_instant(self.clock())
        planned: list[_Decided] = []
        for decided, current in zip(round_, currents, strict=True):
            try:
                with as_malformed(decided.record.describe()):
                    decided.effects = plan_effects(
                        decided.record, decided.transition, current, self.config, now=now, limits=self.limits
                    )
            except MalformedRecordError as error:
                self._park(shard_id, decided.record, error)
                done[decided.index] = True
                continue
            planned.append(decided)

        to_apply = [decided for decided in planned if decided.effects.status == APPLY]
        unsent = self._send_messages([decided for decided in to_apply if decided.effects.queue is not None])
        writes = {
            decided.index: self._pool.submit(self._move, decided) for decided in to_apply if decided.index not in unsent
        }
        moved, write_errors = _outcomes(writes)

        for decided in planned:
            effects = decided.effects
            if effects.status == APPLY:
                if decided.index not in moved:
                    continue  # its send or write failed: not done
                if not moved[decided.index]:
                    self.counts["lost_races"] += 1
                    log.warning(
                        "%s: the item changed between read and update; nothing announced", decided.record.describe()
                    )
                    done[decided.index] = True
                    continue
                self.counts[_MOVED_COUNT[type(decided.transition)]] += 1
            elif effects.status == ALREADY_APPLIED:
                self.counts["replayed"] += 1
                log.info(
                    "%s: already applied before; announcing again with the same messageId", decided.record.describe()
                )
            elif effects.status == ITEM_GONE:
                self.counts["items_gone"] += 1
                if effects.notification is None:
                    log.warning("%s: the item no longer exists; nothing sent or announced", decided.record.describe())
                    done[decided.index] = True
                    continue
                # the record itself proves the finished queue's result appeared
                log.warning(
                    "%s: the item no longer exists; announcing the confirmed step only", decided.record.describe()
                )
            self.publisher.produce(
                self.topic,
                key=decided.record.keys["assetId"],
                tag=decided.record.describe(),
                value=effects.notification,
            )
            self.counts["notifications"] += 1
            done[decided.index] = True

        if write_errors:
            raise write_errors[0]
        if unsent:
            examples = "; ".join(f"{describe}: {reason}" for describe, reason in list(unsent.values())[:3])
            raise UndeliveredMessagesError(f"{len(unsent)} confirmer message(s) not taken by SQS: {examples}")

    def _send_messages(self, to_send: list[_Decided]) -> dict[int, tuple[str, str]]:
        """Send the round's confirmer messages, per queue in SendMessageBatch calls on the pool.

        Returns ``{record index: (the record described, reason)}`` of the messages SQS did not take.
        """
        by_queue: dict[str, list[_Decided]] = {}
        for decided in to_send:
            by_queue.setdefault(decided.effects.queue.alias, []).append(decided)
        calls: dict[Future, list[_Decided]] = {}
        for alias, queued in by_queue.items():
            bodies = [decided.effects.message for decided in queued]
            for batch in send_batches(bodies, self.queues.batch_limit, self.limits.message_limit(alias)):
                url = queued[0].effects.queue.url
                calls[self._pool.submit(self.queues.send_batch, url, [bodies[i] for i in batch])] = [
                    queued[i] for i in batch
                ]
        unsent: dict[int, tuple[str, str]] = {}
        for call, batch in calls.items():
            try:
                failures = call.result()
            except Exception as error:  # noqa: BLE001 - the whole batch is unsent, and named
                failures = {position: f"{type(error).__name__}: {error}" for position in range(len(batch))}
            for position, reason in failures.items():
                unsent[batch[position].index] = (batch[position].record.describe(), reason)
        return unsent

    def _move(self, decided: _Decided) -> bool:
        """The planned conditional write (runs on the pool); False if the item changed meanwhile."""
        if isinstance(decided.transition, Complete):
            return self.state.delete_if(decided.key, decided.effects.write)
        return self.state.apply_update(decided.key, decided.effects.write)


_MOVED_COUNT = {QueueFirst: "queued_first", Advance: "advanced", Complete: "completed"}


def _outcomes(futures: dict[int, Future]) -> tuple[dict[int, Any], list[BaseException]]:
    """Wait for every future; their results by key, and the errors of those that raised."""
    results, errors = {}, []
    for key, future in futures.items():
        try:
            results[key] = future.result()
        except Exception as error:  # noqa: BLE001 - raised by the caller once the others are done
            errors.append(error)
    return results, errors


def _done_up_to(records: list[Any], done: list[bool], checkpoint: str | None) -> str | None:
    """The position after the page's first records whose effects are all done (a contiguous prefix)."""
    position = checkpoint
    for raw, finished in zip(records, done, strict=True):
        if not finished:
            break
        position = record_position(raw) or position
    return position
