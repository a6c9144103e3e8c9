"""ZooKeeper's limits measured before anything is written: the claim and every job, each in one transaction."""

from __future__ import annotations

from include.merritt.limits import MAX_TRANSACTION_BYTES, ZOOKEEPER_MAX_REQUEST_BYTES, find_oversize
from include.merritt.submission import parse_submission, plan_jobs, validate_submission
from tests.include.merritt.support import PROFILE, batch_manifest, submission_conf


def largest_transaction(validated) -> int:
    """The smallest limit the plan fits under: the bytes of its largest transaction."""
    low, high = 1, ZOOKEEPER_MAX_REQUEST_BYTES
    while low < high:
        middle = (low + high) // 2
        if find_oversize(validated.submission, validated.jobs, max_transaction_bytes=middle) is None:
            high = middle
        else:
            low = middle + 1
    return low


def test_a_plan_fits_until_its_largest_transaction_is_over_the_limit():
    validated = validate_submission(submission_conf(3), [PROFILE])
    size = largest_transaction(validated)
    assert 500 < size < 5_000
    assert find_oversize(validated.submission, validated.jobs, max_transaction_bytes=size) is None
    oversize = find_oversize(validated.submission, validated.jobs, max_transaction_bytes=size - 1)
    assert oversize is not None and oversize.size == size and oversize.limit == size - 1


def test_the_job_with_the_big_cell_is_the_one_named():
    validated = validate_submission(
        submission_conf(payload=batch_manifest(5).replace("Object 3", "T" * 5_000)), [PROFILE]
    )
    oversize = find_oversize(validated.submission, validated.jobs, max_transaction_bytes=4_000)
    assert (oversize.what, oversize.job_index) == ("job 4", 3)


def test_no_setting_raises_the_limit_above_what_zookeeper_takes_in_one_request():
    conf = submission_conf(type="file", payload="https://example.org/a.tif", note="n" * 1_100_000)
    submission = parse_submission(conf, [PROFILE])
    oversize = find_oversize(submission, plan_jobs(submission, None), max_transaction_bytes=10**9)
    assert oversize is not None and (oversize.what, oversize.limit) == (
        "the batch's claim",
        ZOOKEEPER_MAX_REQUEST_BYTES,
    )
    assert MAX_TRANSACTION_BYTES < ZOOKEEPER_MAX_REQUEST_BYTES
