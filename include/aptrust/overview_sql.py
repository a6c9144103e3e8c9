"""The registry reads of the Pipelines view (read-only; parameterised like ``include.aptrust.sql``)."""

from __future__ import annotations

# every opted-in institution with its spot test of the month, if any, and that WorkItem's progress
SPOT_TESTS_OF_MONTH = """
SELECT i.identifier, s.work_item_id, w.action, w.stage, w.status, s.created_at
FROM institutions i
LEFT JOIN spot_test_restores s ON s.institution_id = i.id AND s.month = %(month)s
LEFT JOIN work_items w ON w.id = s.work_item_id
WHERE i.state = 'A' AND i.spot_restore_frequency > 0
ORDER BY i.identifier
"""

# stored mail not sent yet (the outbox) or given up on (error), oldest first
MAIL_NOT_SENT = """
SELECT e.id, e.email_type, i.identifier AS institution, e.subject, e.recipients, e.created_at, e.error
FROM emails e JOIN institutions i ON i.id = e.institution_id
WHERE e.sent_at IS NULL OR e.error IS NOT NULL
ORDER BY e.id
LIMIT %(limit)s
"""
