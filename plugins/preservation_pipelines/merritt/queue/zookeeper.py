"""ZooKeeper primitives of the queue: counted and pipelined reads, transactions, size-bounded chunking.

An operation is a tuple ``(kind, path, argument)``: ``("create", path, data)``,
``("set", path, (data, version))`` (a version-guarded write: it fails if the node
changed since it was read) or ``("delete", path, version or None)``. A list of them is
committed as one ZooKeeper transaction: all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from kazoo.exceptions import NodeExistsError, NoNodeError, RolledBackError

from include.merritt.layout import (
    BATCH_UUIDS,
    BATCHES,
    COLLECTION_LOCKS,
    EMPTY,
    INGEST_QUEUE_LOCK,
    JOBS,
    decode_json,
    job_state_folder,
)
from include.merritt.limits import MAX_TRANSACTION_BYTES, write_bytes
from include.merritt.states import JobState

MAX_CONFLICTS = 20  # transactions in a row losing a race with another client before giving up
PIPELINE_DEPTH = 500  # reads in flight at once: ZooKeeper throttles a client beyond ~1000

Operation = tuple[str, str, Any]


class QueueError(RuntimeError):
    """The queue is not in a state that allows what was asked; the message names the node."""


class TransactionRefused(QueueError):
    """ZooKeeper refused one operation of a transaction, so none of it was applied."""

    def __init__(self, what: str, kind: str, path: str, error: Exception) -> None:
        self.kind, self.path, self.error = kind, path, error
        super().__init__(f"{what}: {kind} {path} refused ({type(error).__name__}); nothing was written")


@dataclass(frozen=True)
class Change:
    """One node changed by an action, as reported to the operator."""

    node: str
    before: str | None
    after: str | None


def changes_as_dicts(changes: list[Change]) -> list[dict[str, Any]]:
    return [asdict(change) for change in changes]


def creates(nodes: Iterable[tuple[str, bytes]]) -> list[Operation]:
    """The operations creating ``(path, data)`` nodes, in their order (parents first)."""
    return [("create", path, data) for path, data in nodes]


def operation_bytes(operation: Operation) -> int:
    kind, path, argument = operation
    data = argument if kind == "create" else argument[0] if kind == "set" else b""
    return write_bytes(path, data)


def size_bounded_chunks(units: Iterable[list[Operation]], max_bytes: int) -> Iterator[list[list[Operation]]]:
    """Units of operations grouped into chunks of at most ``max_bytes`` each, never splitting a unit.

    Lazy: taking the first chunk consumes only the units it holds and the one that did
    not fit. A unit over ``max_bytes`` goes alone.
    """
    chunk: list[list[Operation]] = []
    size = 0
    for unit in units:
        cost = sum(operation_bytes(operation) for operation in unit)
        if chunk and size + cost > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(unit)
        size += cost
    if chunk:
        yield chunk


def flattened(chunk: list[list[Operation]]) -> list[Operation]:
    return [operation for unit in chunk for operation in unit]


class QueueNodes:
    """A started kazoo client, counting the round trips and transactions made through it."""

    def __init__(self, client, *, max_transaction_bytes: int = MAX_TRANSACTION_BYTES) -> None:
        self.client = client
        self.max_transaction_bytes = max_transaction_bytes
        self.round_trips = 0
        self.transactions = 0

    # -- reads -------------------------------------------------------------------
    def get(self, path: str) -> tuple[bytes, Any]:
        self.round_trips += 1
        return self.client.get(path)

    def get_or_none(self, path: str) -> bytes | None:
        try:
            return self.get(path)[0]
        except NoNodeError:
            return None

    def children(self, path: str) -> list[str]:
        self.round_trips += 1
        try:
            return self.client.get_children(path)
        except NoNodeError:
            return []

    def exists(self, path: str):
        self.round_trips += 1
        return self.client.exists(path)

    def ingest_frozen(self) -> bool:
        """Whether ``/locks/queue/ingest`` exists: Merritt's consumers and reporters then skip their polls."""
        return self.exists(INGEST_QUEUE_LOCK) is not None

    def read_json(self, path: str) -> tuple[dict[str, Any], int]:
        """A JSON node and its version (for a version-guarded write)."""
        data, stat = self.get(path)
        return decode_json(data, path), stat.version

    def get_many(self, paths: list[str]) -> dict[str, tuple[bytes, Any] | None]:
        """Many nodes read pipelined: ``(data, stat)``, or None where absent."""
        return self._pipelined(self.client.get_async, paths)

    def exists_many(self, paths: list[str]) -> dict[str, bool]:
        found = self._pipelined(self.client.exists_async, paths)
        return {path: found[path] is not None for path in paths}

    def children_many(self, paths: list[str]) -> dict[str, list[str] | None]:
        return self._pipelined(self.client.get_children_async, paths)

    def _pipelined(self, request: Callable[[str], Any], paths: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for start in range(0, len(paths), PIPELINE_DEPTH):
            pending = [(path, request(path)) for path in paths[start : start + PIPELINE_DEPTH]]
            self.round_trips += len(pending)
            for path, result in pending:
                try:
                    found[path] = result.get()
                except NoNodeError:
                    found[path] = None
        return found

    def subtrees(self, roots: list[str]) -> dict[str, list[str]]:
        """Each root and everything under it, deepest first (the order deletes must go in); read level by level."""
        found = {root: [root] for root in roots}
        frontier = [(root, root) for root in roots]
        while frontier:
            children = self.children_many([path for _, path in frontier])
            next_frontier = []
            for root, path in frontier:
                for child in children[path] or []:
                    found[root].append(f"{path}/{child}")
                    next_frontier.append((root, f"{path}/{child}"))
            frontier = next_frontier
        return {root: paths[::-1] for root, paths in found.items()}

    # -- writes ------------------------------------------------------------------
    def commit(self, operations: list[Operation], what: str) -> None:
        """Commit operations atomically; raise :class:`TransactionRefused` naming the failing node."""
        transaction = self.client.transaction()
        for kind, path, argument in operations:
            if kind == "create":
                transaction.create(path, argument)
            elif kind == "set":
                transaction.set_data(path, argument[0], version=argument[1])
            elif kind == "delete":
                transaction.delete(path, version=argument if argument is not None else -1)
        self.round_trips += 1
        self.transactions += 1
        results = transaction.commit()
        for (kind, path, _), result in zip(operations, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, RolledBackError):
                raise TransactionRefused(what, kind, path, result)

    def commit_units(self, units: Iterable[list[Operation]], what: str) -> None:
        """Commit units of operations in as few transactions as fit, never splitting a unit."""
        for chunk in size_bounded_chunks(units, self.max_transaction_bytes):
            self.commit(flattened(chunk), what)

    def create(self, path: str, *, ephemeral: bool = False, makepath: bool = False) -> bool:
        """Create an empty node; False if it exists already."""
        self.round_trips += 1
        try:
            self.client.create(path, EMPTY, ephemeral=ephemeral, makepath=makepath)
        except NodeExistsError:
            return False
        return True

    def delete(self, path: str) -> bool:
        """Delete a node whatever its version; False if it was gone already."""
        self.round_trips += 1
        try:
            self.client.delete(path)
        except NoNodeError:
            return False
        return True

    def ensure_layout(self) -> None:
        """Create the queue's top folders that are missing."""
        folders = (BATCHES, BATCH_UUIDS, JOBS, COLLECTION_LOCKS, INGEST_QUEUE_LOCK.rsplit("/", 1)[0])
        for path in folders + tuple(job_state_folder(state.directory) for state in JobState):
            if self.exists(path) is None:
                try:
                    self.client.ensure_path(path)
                except NodeExistsError:
                    pass
