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

# the DAGs' alert mail not sent yet (the outbox) or given up on (a delivery error), one row per
# recipient, oldest first
MAIL_NOT_SENT = """
SELECT a.id, a.type, i.identifier AS institution, a.subject, u.email AS recipient, a.created_at, x.error
FROM dag_alerts d
JOIN alerts a ON a.id = d.alert_id
JOIN alerts_users au ON au.alert_id = a.id
JOIN users u ON u.id = au.user_id
LEFT JOIN institutions i ON i.id = a.institution_id
LEFT JOIN dag_alert_delivery_errors x ON x.alert_id = au.alert_id AND x.user_id = au.user_id
WHERE au.sent_at IS NULL
ORDER BY a.id, u.id
LIMIT %(limit)s
"""
