"""How messages name a drop-box file's age: absent, or its mtime in Eastern time."""

from __future__ import annotations

from datetime import UTC, datetime

from include.aspace2alma.dropbox import describe_mtime


def test_a_file_is_absent_or_dated_in_eastern_time():
    assert describe_mtime(None) == "absent"
    assert describe_mtime(datetime(2026, 11, 20, 8, 30, tzinfo=UTC)) == "from 2026-11-20 03:30 EST"
    assert describe_mtime(datetime(2026, 7, 1, 8, 30, tzinfo=UTC)) == "from 2026-07-01 04:30 EDT"
