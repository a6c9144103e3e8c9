"""Size-bounded chunking, the one way operations are packed into transactions, and the counted primitives."""

from __future__ import annotations

from include.merritt.limits import OPERATION_OVERHEAD_BYTES
from preservation_pipelines.merritt.queue.zookeeper import QueueNodes, operation_bytes, size_bounded_chunks
from tests.include.merritt.support import zk, zk_chroot  # noqa: F401 - fixtures


def unit(name: str, size: int) -> list[tuple]:
    """One create of ``size`` bytes in all (path, data and overhead)."""
    path = f"/{name}"
    return [("create", path, b"x" * (size - len(path) - OPERATION_OVERHEAD_BYTES))]


def test_every_kind_of_operation_is_sized_by_its_path_and_data():
    assert operation_bytes(("create", "/a", b"12345")) == 2 + 5 + OPERATION_OVERHEAD_BYTES
    assert operation_bytes(("set", "/a", (b"123", 7))) == 2 + 3 + OPERATION_OVERHEAD_BYTES
    assert operation_bytes(("delete", "/abc", None)) == 4 + OPERATION_OVERHEAD_BYTES


def test_chunks_stay_under_the_limit_and_never_split_a_unit():
    units = [unit("a", 100), unit("b", 100) + unit("c", 100), unit("d", 100), unit("e", 300)]
    chunks = list(size_bounded_chunks(units, 300))

    assert chunks == [[units[0], units[1]], [units[2]], [units[3]]]  # a unit over the limit goes alone
    assert [operation for chunk in chunks for part in chunk for operation in part] == [
        operation for part in units for operation in part
    ]


def test_taking_the_first_chunk_reads_no_further_than_the_unit_that_did_not_fit():
    made = []

    def units():
        for n in range(1000):
            made.append(n)
            yield unit(f"u{n}", 100)

    first = next(size_bounded_chunks(units(), 1000))
    assert len(first) == 10 and made == list(range(11))


def test_markers_and_commits_are_counted_as_round_trips(zk):
    nodes = QueueNodes(zk)
    assert nodes.create("/a/b", makepath=True) and not nodes.create("/a/b", makepath=True)
    nodes.commit_units([[("create", "/a/c", b"")], [("delete", "/a/b", None)]], "swap")
    assert (nodes.round_trips, nodes.transactions) == (3, 1)
    assert zk.get_children("/a") == ["c"] and not nodes.delete("/a/b")
