"""The confirmer-queue configuration shared by both postingest DAGs, validated once."""

from __future__ import annotations

import json
import reprlib
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

CUSTODIAL_COPY_TEXT = "Asset has been written to custodial copy disk."
TAPE_TEXT = "Asset has been written to tape."
INGESTED_TEXT = "Asset has been ingested to the Preservation System."

# the Airflow Variable holding the configuration
QUEUE_CONFIG_VARIABLE = "postingest_queues"

# "this step is done" status text of each known confirmer; Scout is the seed's name
# for the tape step.
STATUS_TEXTS = {"CC": CUSTODIAL_COPY_TEXT, "TC": TAPE_TEXT, "Scout": TAPE_TEXT}


class QueueConfigError(ValueError):
    """The queue configuration cannot be used; the message names the problem."""


@dataclass(frozen=True)
class ConfirmerQueue:
    alias: str
    order: int
    url: str

    @property
    def status_text(self) -> str:
        return STATUS_TEXTS[self.alias]

    @property
    def result_attribute(self) -> str:
        return f"result_{self.alias}"


class QueueConfig:
    """The validated queues in order; build it with :func:`parse_queue_config`."""

    def __init__(self, queues: list[ConfirmerQueue]) -> None:
        self.queues = sorted(queues, key=lambda queue: queue.order)
        self._by_alias = {queue.alias: queue for queue in self.queues}

    def __iter__(self):
        return iter(self.queues)

    def __len__(self) -> int:
        return len(self.queues)

    @property
    def first(self) -> ConfirmerQueue:
        return self.queues[0]

    def is_last(self, queue: ConfirmerQueue) -> bool:
        return queue.order == len(self.queues)

    def next_after(self, queue: ConfirmerQueue) -> ConfirmerQueue:
        return self.queues[queue.order]

    def previous(self, queue: ConfirmerQueue) -> ConfirmerQueue | None:
        return self.queues[queue.order - 2] if queue.order > 1 else None

    def by_alias(self, alias: str) -> ConfirmerQueue | None:
        return self._by_alias.get(alias)


def parse_queue_config(text: str) -> QueueConfig:
    """Decode and validate the JSON list; raise :class:`QueueConfigError` naming the problem."""
    try:
        entries = json.loads(text)
    except (TypeError, ValueError, RecursionError) as error:
        raise QueueConfigError(f"queue config is not decodable JSON: {error}") from None
    if not isinstance(entries, list):
        raise QueueConfigError(f"queue config must be a JSON list of queues, got {type(entries).__name__}")
    if not entries:
        raise QueueConfigError("queue config is empty: at least one queue is needed")
    queues = [_queue_from_entry(position, entry) for position, entry in enumerate(entries)]

    orders = Counter(queue.order for queue in queues)
    if 1 not in orders:
        raise QueueConfigError(f"queue config has no queue with queueOrder 1 (orders: {_listed(sorted(orders))})")
    for order, count in sorted(orders.items()):
        if count > 1:
            aliases = [queue.alias for queue in queues if queue.order == order]
            raise QueueConfigError(f"queue config has {count} queues with queueOrder {order}: {_listed(aliases)}")
    if sorted(orders) != list(range(1, len(queues) + 1)):
        raise QueueConfigError(
            f"queue config orders must run 1..{len(queues)} without gaps, got {_listed(sorted(orders))}"
        )
    for field in ("alias", "url"):
        repeated = [value for value, count in Counter(getattr(q, field) for q in queues).items() if count > 1]
        if repeated:
            name = "queueAlias" if field == "alias" else "queueUrl"
            raise QueueConfigError(f"queue config names the same {name} twice: {repeated[0]}")
    for queue in queues:
        if queue.alias not in STATUS_TEXTS:
            raise QueueConfigError(
                f"queue config alias {queue.alias!r} has no known status text (known: {_listed(sorted(STATUS_TEXTS))})"
            )
    return QueueConfig(queues)


def _queue_from_entry(position: int, entry: object) -> ConfirmerQueue:
    if not isinstance(entry, dict):
        raise QueueConfigError(f"queue config entry {position} is not an object: {reprlib.repr(entry)}")
    missing = [key for key in ("queueAlias", "queueOrder", "queueUrl") if key not in entry]
    if missing:
        raise QueueConfigError(f"queue config entry {position} lacks {_listed(missing)}")
    alias, order, url = entry["queueAlias"], entry["queueOrder"], entry["queueUrl"]
    if not isinstance(alias, str) or not alias:
        raise QueueConfigError(f"queue config entry {position}: queueAlias must be a non-empty string")
    if not isinstance(order, int) or isinstance(order, bool):
        raise QueueConfigError(
            f"queue config entry {position} ({alias}): queueOrder must be an integer, got {reprlib.repr(order)}"
        )
    if not isinstance(url, str) or not _is_http_url(url):
        raise QueueConfigError(f"queue config entry {position} ({alias}): queueUrl must be an http(s) URL")
    return ConfirmerQueue(alias=alias, order=order, url=url)


def _is_http_url(url: str) -> bool:
    if not url.isascii() or not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a malformed IPv6 host or port
        return False


def _listed(values) -> str:
    return ", ".join(str(value) for value in values)
