"""Payload files in the queue root: exactly one whole file per job directory, or nothing."""

from __future__ import annotations

import hashlib
import re
import stat

import pytest

from include.merritt.jobs import JobPlan
from include.merritt.payloads import PayloadRefused, QueueRoot, QueueRootError

BODY = b"#%checkm_0.7\n" + b"x" * 100_000


def job(**overrides) -> JobPlan:
    return JobPlan(
        **{
            "job_id": "jid-1",
            "type": "manifest",
            "payload_url": "https://example.org/a.checkm",
            "priority": 5,
            "filename": "a.checkm",
            **overrides,
        }
    )


def answering(body: bytes, *, fail_after: int | None = None):
    """A ``fetch_into`` handing ``body`` over in chunks (and failing after ``fail_after`` bytes); records its calls."""
    calls = []

    def fetch_into(url, write, max_bytes, deadline_seconds):
        calls.append((url, max_bytes))
        for start in range(0, len(body), 8192):
            if fail_after is not None and start >= fail_after:
                raise ConnectionResetError("peer went away")
            write(body[start : start + 8192])
        return len(body)

    fetch_into.calls = calls
    return fetch_into


def files_under(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_a_payload_lands_whole_under_batch_and_job_group_writable(tmp_path):
    root = QueueRoot(tmp_path)
    fetch = answering(BODY)
    assert root.put_payload("bid-9", job(), fetch) is True

    assert files_under(tmp_path) == ["bid-9/jid-1/a.checkm"]
    path = tmp_path / "bid-9" / "jid-1" / "a.checkm"
    assert path.read_bytes() == BODY
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o775
    assert fetch.calls == [("https://example.org/a.checkm", 5 * 1024 * 1024)]  # a manifest: the manifest cap

    assert root.put_payload("bid-9", job(), fetch, keep_existing=True) is False  # its job exists: kept
    assert len(fetch.calls) == 1
    assert root.put_payload("bid-9", job(), answering(b"another manifest")) is True  # no job yet: fetched again
    assert path.read_bytes() == b"another manifest" and files_under(tmp_path) == ["bid-9/jid-1/a.checkm"]


def test_an_interrupted_fetch_leaves_no_file_with_the_payloads_name_and_a_retry_completes_it(tmp_path):
    root = QueueRoot(tmp_path)
    with pytest.raises(ConnectionResetError):
        root.put_payload("bid-9", job(type="file", filename="scan.tif"), answering(BODY, fail_after=50_000))
    assert files_under(tmp_path) == []

    assert root.put_payload("bid-9", job(type="file", filename="scan.tif"), answering(BODY))
    assert files_under(tmp_path) == ["bid-9/jid-1/scan.tif"]


def test_a_payload_whose_digest_differs_is_refused_and_nothing_is_left(tmp_path):
    root = QueueRoot(tmp_path)
    good = job(digest_type="md5", digest_value=hashlib.md5(BODY).hexdigest())
    bad = job(job_id="jid-2", digest_type="sha-256", digest_value="0" * 64)

    assert root.put_payload("bid-9", good, answering(BODY))
    with pytest.raises(PayloadRefused, match=r"sha-256 is [0-9a-f]{64}, not 0{64} as the submission says \(a.checkm\)"):
        root.put_payload("bid-9", bad, answering(BODY))
    assert files_under(tmp_path) == ["bid-9/jid-1/a.checkm"]

    root.remove_batch_directory("bid-9")
    assert list(tmp_path.iterdir()) == []


def test_bytes_already_fetched_are_written_without_fetching_again(tmp_path):
    fetch = answering(b"never")
    QueueRoot(tmp_path).put_payload("bid-9", job(payload=BODY), fetch)
    assert (tmp_path / "bid-9" / "jid-1" / "a.checkm").read_bytes() == BODY and fetch.calls == []


def test_a_queue_root_that_cannot_take_files_is_refused_naming_it(tmp_path):
    (tmp_path / "file").write_text("x")
    for path, message in [
        ("relative/queue", "is not an absolute path"),
        (str(tmp_path / "missing"), "is not a directory (is the ingest filesystem mounted here?)"),
        (str(tmp_path / "file"), "is not a directory"),
    ]:
        with pytest.raises(QueueRootError, match=re.escape(f"queue root {path} {message}")):
            QueueRoot(path).check_writable()
    QueueRoot(tmp_path).check_writable()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file"]  # the probe leaves nothing
