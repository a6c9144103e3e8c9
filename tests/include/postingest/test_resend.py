from datetime import datetime, timedelta, timezone

from include.postingest.resend import (
    claim_update,
    claim_value,
    release_update,
    retention_from_attribute,
    stale_cutoff,
)

SEED_NOW = datetime(2025, 6, 19, 16, 24, tzinfo=timezone.utc)
FOURTEEN_DAYS = timedelta(days=14)


def test_retention_comes_from_the_queue_with_two_weeks_as_fallback():
    assert retention_from_attribute("345600") == timedelta(days=4)
    assert retention_from_attribute(None) == FOURTEEN_DAYS
    assert retention_from_attribute("garbage") == FOURTEEN_DAYS
    assert retention_from_attribute("0") == FOURTEEN_DAYS


def test_the_seed_example_cutoff_splits_its_two_rows():
    cutoff = stale_cutoff(SEED_NOW, FOURTEEN_DAYS)

    assert cutoff == "2025-06-05T16:24:00.000Z"
    assert "2025-06-05T10:00" < cutoff
    assert not "2025-06-10T10:00" < cutoff


def test_a_claim_is_fresh_now_and_stale_again_after_the_lease():
    claim = claim_value(SEED_NOW, FOURTEEN_DAYS)

    assert claim >= stale_cutoff(SEED_NOW + timedelta(minutes=9), FOURTEEN_DAYS)
    assert claim < stale_cutoff(SEED_NOW + timedelta(minutes=11), FOURTEEN_DAYS)


def test_claim_requires_the_value_read_and_release_requires_the_claim():
    claim = claim_update("CC", "2025-06-05T10:00", "lease").as_boto3_params()
    release = release_update("lease", "2025-06-19T16:24:00.000Z").as_boto3_params()

    assert claim["ConditionExpression"] == "#queue = :queue AND lastQueued = :read"
    assert claim["ExpressionAttributeValues"] == {":claim": "lease", ":queue": "CC", ":read": "2025-06-05T10:00"}
    assert release["ConditionExpression"] == "lastQueued = :claim"
    assert "ExpressionAttributeNames" not in release
