"""Whether the day's barcode report has arrived, as the Pipelines view says it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from include.aspace2alma.overview import report_arrival

FRESH_AFTER = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 03:00 EST


def test_a_report_delivered_after_the_cutoff_is_waiting():
    arrived, how = report_arrival(FRESH_AFTER + timedelta(minutes=5), None, FRESH_AFTER)

    assert arrived and how == "arrived, waiting for the export (from 2026-12-07 03:05 EST)"


def test_a_report_consumed_today_has_arrived():
    arrived, how = report_arrival(None, FRESH_AFTER + timedelta(hours=2), FRESH_AFTER)

    assert arrived and how == "arrived and consumed by an export (from 2026-12-07 05:00 EST)"


def test_yesterdays_report_has_not_arrived():
    arrived, how = report_arrival(FRESH_AFTER - timedelta(hours=1), FRESH_AFTER - timedelta(days=1), FRESH_AFTER)

    assert not arrived
    assert how == "not arrived: the report is from 2026-12-07 02:00 EST, the consumed copy from 2026-12-06 03:00 EST"
    assert report_arrival(None, None, FRESH_AFTER) == (
        False,
        "not arrived: the report is absent, the consumed copy absent",
    )
