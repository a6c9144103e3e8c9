"""Alert rules without a database: the run's day, who is alerted of what, the texts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from include.aptrust.alerts import (
    APTRUST_AUDIENCE,
    FAILED_FIXITY_CHECK,
    INSTITUTION_AUDIENCE,
    Candidate,
    Recipient,
    alert_message_id,
    covered_day,
    day_bounds,
    failed_fixity_content,
    failed_fixity_url,
    plan_alerts,
    stalled_content,
)
from include.common.eastern_time import eastern_instant

ADMIN = Recipient(10, "admin@one.edu")
OPS = Recipient(90, "ops@aptrust.org")


def _candidate(id_, institution_id=1, institution="one.edu", *, to_institution=True, to_aptrust=True, **item):
    return Candidate(id_, institution_id, institution, to_institution, to_aptrust, **item)


def _content(items, institution_id):
    return f"{institution_id}:{[item.id for item in items]}"


def test_each_daily_run_covers_the_previous_utc_day_so_runs_tile_the_days():
    runs = [eastern_instant(date(2026, 3, 6) + timedelta(days=n), "07:00") for n in range(4)]  # across the DST change
    days = [covered_day(run) for run in runs]
    assert days == [date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8)]
    bounds = [day_bounds(day) for day in days]
    assert all(end == next_start for (_, end), (next_start, _) in zip(bounds, bounds[1:], strict=False))
    assert bounds[0] == (datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC))


def test_the_fixity_link_is_the_registrys_events_filter_for_the_day():
    day = date(2026, 12, 6)
    assert failed_fixity_url("https://repo.example.org/", day, 7) == (
        "https://repo.example.org/events?event_type=fixity+check&outcome=Failed&institution_id=7"
        "&date_time__gteq=2026-12-06&date_time__lteq=2026-12-07"
    )
    assert "institution_id" not in failed_fixity_url("https://repo.example.org", day)
    content = failed_fixity_content("https://x/events")
    assert content.startswith("Hello from APTrust,\n\nWhile checking the integrity of your files")
    assert "\nhttps://x/events\n" in content and content.endswith("help@aptrust.org\n")


def test_one_alert_per_institution_with_something_new_and_one_aptrust_summary():
    candidates = [
        _candidate(1),
        _candidate(2, to_institution=False),  # the institution's admins were told already
        _candidate(3, 2, "two.edu", to_aptrust=False),  # APTrust was told already
        _candidate(4, 3, "three.edu"),
    ]
    plan = plan_alerts(
        FAILED_FIXITY_CHECK,
        candidates,
        admins={1: [ADMIN], 2: [Recipient(20, "a@two.edu"), Recipient(21, "b@two.edu")]},
        aptrust=(99, [OPS]),
        content=_content,
    )
    assert [(a.institution, a.audience, a.linked_ids, a.user_ids, a.content) for a in plan.alerts] == [
        ("one.edu", INSTITUTION_AUDIENCE, (1,), (10,), "1:[1]"),
        ("two.edu", INSTITUTION_AUDIENCE, (3,), (20, 21), "2:[3]"),
        ("three.edu", INSTITUTION_AUDIENCE, (4,), (), "3:[4]"),
        ("aptrust.org", APTRUST_AUDIENCE, (1, 2, 4), (90,), "None:[1, 2, 4]"),
    ]
    assert all(alert.subject == alert.type == FAILED_FIXITY_CHECK for alert in plan.alerts)
    assert plan.no_recipients == ["three.edu"] and plan.no_summary is None


def test_no_summary_without_aptrust_recipients_and_nothing_when_nothing_is_new():
    candidates = [_candidate(1)]
    nobody = plan_alerts(FAILED_FIXITY_CHECK, candidates, admins={1: [ADMIN]}, aptrust=(99, []), content=_content)
    assert [a.audience for a in nobody.alerts] == [INSTITUTION_AUDIENCE]
    assert nobody.no_summary == "no active user of aptrust.org to receive it"
    missing = plan_alerts(FAILED_FIXITY_CHECK, candidates, admins={}, aptrust=None, content=_content)
    assert missing.no_summary == "no institution aptrust.org in the registry"
    empty = plan_alerts(FAILED_FIXITY_CHECK, [], admins={}, aptrust=(99, [OPS]), content=_content)
    assert empty.alerts == [] and empty.no_summary is None and empty.no_recipients == []


def test_aptrust_orgs_own_items_are_in_its_summary_only():
    plan = plan_alerts(
        FAILED_FIXITY_CHECK,
        [_candidate(1, 99, "aptrust.org")],
        admins={99: [OPS]},
        aptrust=(99, [OPS]),
        content=_content,
    )
    assert [(a.audience, a.linked_ids) for a in plan.alerts] == [(APTRUST_AUDIENCE, (1,))]


def test_stalled_lines_name_each_item_with_its_registry_page():
    queued = datetime(2026, 12, 6, 3, 4, tzinfo=UTC)
    items = [
        _candidate(8, action="Ingest", stage="Receive", status="Started", name="b.tar", queued_at=queued),
        _candidate(5, action="Restore Object", stage="Requested", status="Pending", name="a.tar", queued_at=queued),
    ]
    content = stalled_content(items, "https://repo.example.org/", with_institution=True)
    lines = content.splitlines()
    assert "The following 2 work items have been queued for more than 12 hours without completing:" in lines
    first = lines.index("WorkItem 5 (one.edu): Restore Object, stage Requested, status Pending, name a.tar, "
                        "queued 2026-12-06 03:04 UTC")  # fmt: skip
    assert lines[first + 1] == "  https://repo.example.org/work_items/show/5"
    assert lines[first + 2].startswith("WorkItem 8 (one.edu): Ingest")
    assert "(one.edu)" not in stalled_content(items, "https://r")


def test_the_message_id_is_the_alerts_and_the_users():
    assert alert_message_id(12, 34) == "<aptrust-alert-12-34@registry.aptrust.org>"
