"""The statements of the registry alerts (``aptrust_alerts``), parameterised only.

Beside ``sql.py`` like ``restore_request_sql.py`` while issue #14 reworks that module;
``%(name)s`` placeholders, constants composed at import time from the module's own
vocabulary, never from values.
"""

from __future__ import annotations

from include.aptrust.alerts import (
    APTRUST_INSTITUTION,
    FAILED_FIXITY_CHECK,
    FAILED_FIXITY_OUTCOMES,
    FIXITY_CHECK_EVENT,
    STALLED_STATUSES,
    STALLED_WORK_ITEMS,
)
from include.aptrust.work_items import SYSTEM_USER


def _quoted(*words: str) -> str:
    """SQL literals of the registry's vocabulary (constants without quotes, never input)."""
    assert not any("'" in word for word in words)
    return ", ".join(f"'{word}'" for word in words)


LOCK_ALERT_TYPE = """
SELECT pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 0))
"""

APTRUST = f"""
SELECT id FROM institutions WHERE identifier = {_quoted(APTRUST_INSTITUTION)}
"""

# Every active user of aptrust.org but the system account, of any role (as the registry does).
APTRUST_RECIPIENTS = f"""
SELECT id AS user_id, email FROM users
WHERE institution_id = %(institution_id)s AND deactivated_at IS NULL AND lower(email) <> lower({_quoted(SYSTEM_USER)})
ORDER BY id
"""

INSTITUTION_ADMINS = """
SELECT institution_id, id AS user_id, email FROM users
WHERE institution_id = ANY(%(institution_ids)s) AND role = 'institutional_admin' AND deactivated_at IS NULL
ORDER BY institution_id, id
"""


def _not_attached(link_table: str, link_column: str, alert_type: str, row: str, institution: str, after: str) -> str:
    return f"""NOT EXISTS (
        SELECT 1 FROM {link_table} l JOIN alerts a ON a.id = l.alert_id
        WHERE l.{link_column} = {row}.id AND a.type = {_quoted(alert_type)} AND a.institution_id = {institution}{after})"""


# The interval's failed fixity checks, each with whether its institution's admins and APTrust
# were already alerted of it (by the registry's endpoint or an earlier run). An aptrust_id of
# NULL makes every event new to APTrust.
FAILED_FIXITY_CANDIDATES = f"""
SELECT * FROM (
    SELECT e.id, e.institution_id, inst.identifier AS institution,
           {_not_attached("alerts_premis_events", "premis_event_id", FAILED_FIXITY_CHECK, "e", "e.institution_id", "")}
               AS new_to_institution,
           {_not_attached("alerts_premis_events", "premis_event_id", FAILED_FIXITY_CHECK, "e", "%(aptrust_id)s", "")}
               AS new_to_aptrust
    FROM premis_events e JOIN institutions inst ON inst.id = e.institution_id
    WHERE e.event_type = {_quoted(FIXITY_CHECK_EVENT)} AND e.outcome IN ({_quoted(*FAILED_FIXITY_OUTCOMES)})
      AND e.date_time >= %(start)s AND e.date_time < %(end)s
) events
WHERE new_to_institution OR new_to_aptrust
ORDER BY institution_id, id
"""

# WorkItems queued more than %(stalled_after)s ago and still pending or started, each with
# whether its audience was alerted of this stall (an alert created after its current queued_at:
# a requeued item that stalls again is new again).
_AFTER_QUEUED = " AND a.created_at > w.queued_at"
STALLED_CANDIDATES = f"""
SELECT * FROM (
    SELECT w.id, w.institution_id, inst.identifier AS institution, w.action, w.stage, w.status, w.name,
           w.queued_at,
           {_not_attached("alerts_work_items", "work_item_id", STALLED_WORK_ITEMS, "w", "w.institution_id", _AFTER_QUEUED)}
               AS new_to_institution,
           {_not_attached("alerts_work_items", "work_item_id", STALLED_WORK_ITEMS, "w", "%(aptrust_id)s", _AFTER_QUEUED)}
               AS new_to_aptrust
    FROM work_items w JOIN institutions inst ON inst.id = w.institution_id
    WHERE w.status IN ({_quoted(*STALLED_STATUSES)}) AND w.queued_at < now() - %(stalled_after)s
) items
WHERE new_to_institution OR new_to_aptrust
ORDER BY institution_id, id
"""

INSERT_ALERT = """
INSERT INTO alerts (institution_id, type, subject, content, deletion_request_id, created_at)
VALUES (%(institution_id)s, %(type)s, %(subject)s, %(content)s, %(deletion_request_id)s, now())
RETURNING id
"""

INSERT_ALERT_USERS = """
INSERT INTO alerts_users (alert_id, user_id)
SELECT %(alert_id)s, unnest(%(user_ids)s::bigint[])
"""

INSERT_ALERT_PREMIS_EVENTS = """
INSERT INTO alerts_premis_events (alert_id, premis_event_id)
SELECT %(alert_id)s, unnest(%(linked_ids)s::bigint[])
"""

INSERT_ALERT_WORK_ITEMS = """
INSERT INTO alerts_work_items (alert_id, work_item_id)
SELECT %(alert_id)s, unnest(%(linked_ids)s::bigint[])
"""

INSERT_DAG_ALERT = """
INSERT INTO dag_alerts (alert_id, dag_id, dag_run_id, type, audience, interval_start)
VALUES (%(alert_id)s, %(dag_id)s, %(dag_run_id)s, %(type)s, %(audience)s, %(interval_start)s)
"""

# The run's alerts of a type (whichever try recorded them), with what each is about.
RUN_ALERTS = """
SELECT d.alert_id, d.audience, inst.identifier AS institution,
       (SELECT count(*) FROM alerts_users u WHERE u.alert_id = d.alert_id) AS recipients,
       (SELECT count(*) FROM alerts_premis_events e WHERE e.alert_id = d.alert_id)
       + (SELECT count(*) FROM alerts_work_items w WHERE w.alert_id = d.alert_id) AS items
FROM dag_alerts d JOIN alerts a ON a.id = d.alert_id LEFT JOIN institutions inst ON inst.id = a.institution_id
WHERE d.dag_id = %(dag_id)s AND d.dag_run_id = %(dag_run_id)s AND d.type = %(type)s
ORDER BY d.alert_id
"""

# -- sending -------------------------------------------------------------------------------

_UNSENT = """au.sent_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM dag_alert_delivery_errors x WHERE x.alert_id = au.alert_id AND x.user_id = au.user_id)"""

# Only alerts the DAGs recorded (dag_alerts): the registry's own unsent alerts are not ours. A NULL
# dag_id / dag_run_id / alert_id does not narrow the set.
UNSENT_ALERT_RECIPIENTS = f"""
SELECT au.alert_id, au.user_id
FROM alerts_users au JOIN dag_alerts d ON d.alert_id = au.alert_id
WHERE {_UNSENT}
  AND (%(dag_id)s::text IS NULL OR d.dag_id = %(dag_id)s)
  AND (%(dag_run_id)s::text IS NULL OR d.dag_run_id = %(dag_run_id)s)
  AND (%(alert_id)s::bigint IS NULL OR d.alert_id = %(alert_id)s)
ORDER BY au.alert_id, au.user_id
"""

# The alert of a type a run recorded already (a retried notifier or approval finds it).
RUN_ALERT_OF_TYPE = """
SELECT alert_id FROM dag_alerts
WHERE dag_id = %(dag_id)s AND dag_run_id = %(dag_run_id)s AND type = %(type)s
ORDER BY alert_id
LIMIT 1
"""

# One recipient's row, locked while its mail is sent: a concurrent sender skips it.
LOCK_UNSENT_RECIPIENT = f"""
SELECT au.alert_id, au.user_id, u.email, a.subject, a.content
FROM alerts_users au
JOIN dag_alerts d ON d.alert_id = au.alert_id
JOIN alerts a ON a.id = au.alert_id
JOIN users u ON u.id = au.user_id
WHERE au.alert_id = %(alert_id)s AND au.user_id = %(user_id)s AND {_UNSENT}
FOR UPDATE OF au SKIP LOCKED
"""

MARK_ALERT_SENT = """
UPDATE alerts_users SET sent_at = now()
WHERE alert_id = %(alert_id)s AND user_id = %(user_id)s AND sent_at IS NULL
"""

RECORD_DELIVERY_ERROR = """
INSERT INTO dag_alert_delivery_errors (alert_id, user_id, error)
VALUES (%(alert_id)s, %(user_id)s, %(error)s)
ON CONFLICT (alert_id, user_id) DO NOTHING
"""
