"""moto's server (what ``moto_server`` runs), with two of its faults under load fixed.

- **An SQS queue's attributes are computed when read.** moto 5.2.5 reads one queue
  attribute (``ContentBasedDeduplication``) through ``Queue.attributes`` on every message
  sent, and that property computes every attribute, three of them by walking every
  message in the queue. Sending to a queue that holds N messages therefore costs O(N) of
  moto's CPU, and filling a queue O(N²): measured here, 500 messages sent in batches of
  10 took 6.6 s of moto's CPU into an empty queue and 39 s into one holding 1,500. SQS
  itself takes the same time per message whatever the queue holds, so tests and
  benchmarks that fill a confirmer queue would measure moto. Here ``Queue.attributes`` is
  a read-only mapping over the same names that computes a value, with moto's own code,
  only when it is read.
- **A table's stream records are numbered one at a time.** moto's server answers on a
  thread per request, and ``StreamShard.add`` numbers a record ``len(records)`` and
  appends it later, so concurrent writes to one table can give two records the same
  sequence number (measured: 49 of 8,000 updates from 16 threads). Its shard iterators
  find records by position, so after such a pair ``NextShardIterator`` points back at a
  record already read, and a reader at the end of the shard gets that record again
  forever. Here each shard's ``add`` runs under a lock.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.models.table import StreamShard
from moto.server import main
from moto.sqs.models import Queue


class QueueAttributes(Mapping):
    """``Queue.attributes`` as moto builds it (names, values, booleans as "true"/"false"), one value at a time."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def _names(self) -> dict[str, None]:
        queue = self._queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        return dict.fromkeys(names)

    def __getitem__(self, name: str) -> Any:
        if name not in self._names():
            raise KeyError(name)
        queue = self._queue
        value = getattr(queue, camelcase_to_underscores(name))
        if name == "Policy" and queue.policy:
            value = queue.policy
        if name == "RedrivePolicy" and queue.redrive_policy:
            value = json.dumps(queue.redrive_policy)
        return str(value).lower() if isinstance(value, bool) else value

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def in_turn(add: Callable[..., None]) -> Callable[..., None]:
    """``StreamShard.add`` numbering and appending a record without another thread in between."""
    lock = threading.Lock()

    @functools.wraps(add)
    def add_in_turn(shard: StreamShard, *args: Any, **kwargs: Any) -> None:
        with lock:
            add(shard, *args, **kwargs)

    return add_in_turn


def fix_moto() -> None:
    Queue.attributes = property(QueueAttributes)  # type: ignore[assignment]
    StreamShard.add = in_turn(StreamShard.add)  # type: ignore[method-assign]


if __name__ == "__main__":
    fix_moto()
    sys.exit(main())
