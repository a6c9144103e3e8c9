"""Paths, encodings and the nodes of a new batch, exactly as Merritt's workers read them."""

from datetime import datetime, timedelta, timezone

import pytest

from include.merritt.layout import (
    CorruptNodeError,
    batch_claim_nodes,
    batch_job_entry,
    decode_int,
    decode_json,
    encode_int,
    encode_json,
    format_timestamp,
    jid_of_queue_entry,
    parse_timestamp,
    queue_entry,
    sequence_name,
)


def test_paths_follow_the_running_system():
    assert queue_entry("pending", 5, "jid0000000001") == "/jobs/states/pending/05-jid0000000001"
    assert jid_of_queue_entry("05-jid0000000001") == "jid0000000001"
    assert batch_job_entry("bid0000000001", "batch-failed", "jid0000000002") == (
        "/batches/bid0000000001/states/batch-failed/jid0000000002"
    )
    assert sequence_name("/jobs/jid", 12) == "jid0000000012"


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


def test_a_claimed_batch_is_its_node_submission_status_states_marker_and_uuid_entry_parents_first():
    record = {"batchID": "bid-1", "profile": "p"}
    status = {"status": "Processing", "last_modified": "2026-11-23 10:30:00 -0500", "message": ""}
    nodes = batch_claim_nodes("bid0000000003", record, status)
    assert nodes == [
        ("/batches/bid0000000003", b""),
        ("/batches/bid0000000003/submission", b'{"batchID":"bid-1","profile":"p"}'),
        ("/batches/bid0000000003/status", encode_json(status)),
        ("/batches/bid0000000003/states", b""),
        ("/batch-uuids/bid-1", b"bid0000000003"),
    ]
    # no states/batch-processing: an empty one would tell every reporter the batch is finished
    assert not any(path.endswith("batch-processing") for path, _ in nodes)
