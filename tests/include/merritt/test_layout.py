from datetime import datetime, timedelta, timezone

import pytest

from include.merritt.layout import (
    CorruptNodeError,
    ark_lock_name,
    batch_job_entry,
    decode_int,
    decode_json,
    encode_int,
    encode_json,
    format_timestamp,
    inventory_lock,
    jid_of_queue_entry,
    parse_timestamp,
    queue_entry,
    sequence_name,
    storage_lock,
)
from include.merritt.priority import initial_priority


def test_paths_follow_the_running_system():
    assert queue_entry("pending", 5, "jid0000000001") == "/jobs/states/pending/05-jid0000000001"
    assert jid_of_queue_entry("05-jid0000000001") == "jid0000000001"
    assert batch_job_entry("bid0000000001", "batch-failed", "jid0000000002") == (
        "/batches/bid0000000001/states/batch-failed/jid0000000002"
    )
    assert sequence_name("/jobs/jid", 12) == "jid0000000012"


def test_ark_locks_replace_the_scheme_and_slashes():
    assert ark_lock_name("ark:/13030/m5abc") == "_13030_m5abc"
    assert storage_lock("ark:/13030/m5abc") == "/locks/storage/_13030_m5abc"
    assert inventory_lock("ark:/99999/fk4") == "/locks/inventory/_99999_fk4"


def test_timestamps_are_java_style_with_offset():
    at = datetime(2024, 4, 2, 16, 47, 2, tzinfo=timezone(timedelta(hours=-7)))
    assert format_timestamp(at) == "2024-04-02 16:47:02 -0700"
    assert parse_timestamp("2024-04-02 16:47:02 -0700") == at
    with pytest.raises(ValueError):
        format_timestamp(datetime(2024, 4, 2))
    with pytest.raises(CorruptNodeError, match="/x"):
        parse_timestamp("yesterday", "/x")


def test_encodings_json_and_decimal_strings():
    assert encode_json({"status": "Pending", "retry_count": 0}) == b'{"status":"Pending","retry_count":0}'
    assert encode_int(5) == b"5"
    assert decode_int(b"", "/jobs/j/space_needed", default=0) == 0
    with pytest.raises(CorruptNodeError, match="/jobs/j/priority: expected a decimal integer"):
        decode_int(b"five", "/jobs/j/priority")


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe", b"[1, 2]", b""])
def test_corrupt_json_names_the_node(data):
    with pytest.raises(CorruptNodeError, match="^/batches/bid0000000007/status: "):
        decode_json(data, "/batches/bid0000000007/status")


@pytest.mark.parametrize(("jobs", "priority"), [(1, 5), (2, 11), (10, 28), (100, 51), (10_000, 97), (10**6, 99)])
def test_initial_priority_grows_with_the_log_of_the_job_count(jobs, priority):
    assert initial_priority(jobs) == priority


def test_a_requested_priority_wins_and_is_bounded():
    assert initial_priority(10_000, requested=0) == 0
    with pytest.raises(ValueError, match="100"):
        initial_priority(1, requested=100)
    with pytest.raises(ValueError):
        initial_priority(0)
