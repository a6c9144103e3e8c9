from datetime import UTC, datetime, timedelta

from include.postingest.resend import claim_update, retention_from_attribute, stale_cutoff, unclaim_update

SEED_NOW = datetime(2025, 6, 19, 16, 24, tzinfo=UTC)
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


def test_claim_requires_the_value_read_and_unclaim_requires_the_claim():
    claim = claim_update("CC", "2025-06-05T10:00", "2025-06-19T16:24:00.000Z").as_boto3_params()
    unclaim = unclaim_update("2025-06-19T16:24:00.000Z", "2025-06-05T10:00").as_boto3_params()

    assert claim == {
        "UpdateExpression": "SET lastQueued = :now",
        "ConditionExpression": "#queue = :queue AND lastQueued = :read",
        "ExpressionAttributeNames": {"#queue": "queue"},
        "ExpressionAttributeValues": {":now": "2025-06-19T16:24:00.000Z", ":queue": "CC", ":read": "2025-06-05T10:00"},
    }
    assert unclaim == {
        "UpdateExpression": "SET lastQueued = :read",
        "ConditionExpression": "lastQueued = :claimed",
        "ExpressionAttributeValues": {":read": "2025-06-05T10:00", ":claimed": "2025-06-19T16:24:00.000Z"},
    }
