"""Every SQL statement the APTrust DAGs run against the registry, in one place.

Parameterised only (``%(name)s``, psycopg2 style); no statement is ever built from
values. The DDL lives beside this module in ``registry.sql``; the registry applies it
as a migration, the DAGs never do.
"""

from __future__ import annotations

from include.aptrust.mail import RESTORATION_COMPLETED
from include.aptrust.work_items import (
    COMPLETED_STATUSES,
    INGEST,
    OBJECT_RESTORE_ACTIONS,
    PENDING_STATUS,
    REQUESTED_STAGE,
    RESTORE_ACTIONS,
    SUCCESS,
    SYSTEM_USER,
)


def _literals(*values: str) -> str:
    """Constant SQL string literals of the module's own vocabulary (never user input), comma-separated."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


_COMPLETED = _literals(*COMPLETED_STATUSES)
_RESTORES = _literals(*RESTORE_ACTIONS)
_OBJECT_RESTORES = _literals(*OBJECT_RESTORE_ACTIONS)
_INGEST = _literals(INGEST)
_SUCCESS = _literals(SUCCESS)
_SYSTEM_USER = _literals(SYSTEM_USER)

# -- spot-test restores ---------------------------------------------------------

SPOT_TEST_INSTITUTIONS = """
SELECT id, identifier, spot_restore_frequency
FROM institutions
WHERE state = 'A' AND spot_restore_frequency > 0
ORDER BY id
"""

SPOT_TEST_OF_MONTH = """
SELECT work_item_id FROM spot_test_restores
WHERE institution_id = %(institution_id)s AND month = %(month)s
"""

ACTIVE_OBJECT_IDS = """
SELECT id FROM intellectual_objects WHERE institution_id = %(institution_id)s AND state = 'A'
"""

# The eligibility rules, applied to a batch of candidate ids: active, size > 0 (sum of
# active files), a successful ingest to restore from, no successful object restore since
# the cutoff, no pending WorkItem on the object or any of its files.
SPOT_TEST_ELIGIBLE_AMONG = f"""
SELECT o.id, sizes.size
FROM intellectual_objects o
CROSS JOIN LATERAL (
    SELECT sum(f.size) AS size FROM generic_files f
    WHERE f.intellectual_object_id = o.id AND f.state = 'A'
) sizes
WHERE o.id = ANY(%(object_ids)s)
  AND o.state = 'A'
  AND sizes.size > 0
  AND EXISTS (
    SELECT 1 FROM work_items w
    WHERE w.intellectual_object_id = o.id AND w.action = {_INGEST} AND w.status = {_SUCCESS})
  AND NOT EXISTS (
    SELECT 1 FROM work_items w
    WHERE w.intellectual_object_id = o.id AND w.action IN ({_OBJECT_RESTORES})
      AND w.status = {_SUCCESS} AND w.date_processed > %(restored_since)s)
  AND NOT EXISTS (
    SELECT 1 FROM work_items w
    WHERE w.intellectual_object_id = o.id AND w.status NOT IN ({_COMPLETED}))
  -- a scalar subquery, not NOT EXISTS: the planner would turn that into an anti-join over
  -- every file with pending work (hundreds of ms); this probes the object's few files
  AND (SELECT w.id FROM generic_files f JOIN work_items w ON w.generic_file_id = f.id
       WHERE f.intellectual_object_id = o.id AND w.status NOT IN ({_COMPLETED}) LIMIT 1) IS NULL
"""

# The object and its last successful ingest, whose name/etag/bucket/bag_date a new
# WorkItem repeats. NULLs when the object was never ingested successfully.
WORK_ITEM_SOURCE = f"""
SELECT o.id AS intellectual_object_id, o.identifier, o.bag_name, o.institution_id, o.storage_option,
       ingest.name, ingest.etag, ingest.bucket, ingest.bag_date,
       (SELECT sum(f.size) FROM generic_files f WHERE f.intellectual_object_id = o.id AND f.state = 'A') AS size
FROM intellectual_objects o
LEFT JOIN LATERAL (
    SELECT w.name, w.etag, w.bucket, w.bag_date FROM work_items w
    WHERE w.intellectual_object_id = o.id AND w.action = {_INGEST} AND w.status = {_SUCCESS}
    ORDER BY w.date_processed DESC NULLS LAST, w.id DESC
    LIMIT 1
) ingest ON true
WHERE o.id = %(object_id)s
"""

INSERT_WORK_ITEM = f"""
INSERT INTO work_items (name, etag, institution_id, intellectual_object_id, generic_file_id, bucket, "user",
                        inst_approver, note, action, stage, status, retry, bag_date, size, deletion_request_id)
VALUES (%(name)s, %(etag)s, %(institution_id)s, %(intellectual_object_id)s, %(generic_file_id)s, %(bucket)s,
        %(user)s, %(inst_approver)s, %(note)s, %(action)s, {_literals(REQUESTED_STAGE)}, {_literals(PENDING_STATUS)}, true, %(bag_date)s, %(size)s,
        %(deletion_request_id)s)
RETURNING id
"""

CLAIM_SPOT_TEST = """
INSERT INTO spot_test_restores (institution_id, month, work_item_id, dag_run_id)
VALUES (%(institution_id)s, %(month)s, %(work_item_id)s, %(dag_run_id)s)
ON CONFLICT (institution_id, month) DO NOTHING
RETURNING work_item_id
"""

RECORD_LAST_SPOT_RESTORE = """
UPDATE institutions SET last_spot_restore_work_item_id = %(work_item_id)s, updated_at = now()
WHERE id = %(institution_id)s
"""

# -- the work queue ------------------------------------------------------------------

# Locked while they are published, so a second queueing task skips them.
UNQUEUED_WORK_ITEMS = """
SELECT id, action FROM work_items
WHERE id = ANY(%(work_item_ids)s) AND queued_at IS NULL
ORDER BY id
FOR UPDATE SKIP LOCKED
"""

MARK_QUEUED = """
UPDATE work_items SET queued_at = now(), updated_at = now()
WHERE id = ANY(%(work_item_ids)s) AND queued_at IS NULL
"""

# -- restore notifications ---------------------------------------------------------

RESTORES_TO_NOTIFY = f"""
SELECT w.id AS work_item_id, w.institution_id, inst.identifier AS institution, inst.name AS institution_name,
       w."user" AS requester, w.action, o.identifier AS object_identifier, f.identifier AS file_identifier,
       w.note, w.date_processed,
       (s.work_item_id IS NOT NULL OR w."user" = {_SYSTEM_USER}) AS spot_test
FROM work_items w
JOIN institutions inst ON inst.id = w.institution_id
LEFT JOIN intellectual_objects o ON o.id = w.intellectual_object_id
LEFT JOIN generic_files f ON f.id = w.generic_file_id
LEFT JOIN spot_test_restores s ON s.work_item_id = w.id
WHERE w.status = {_SUCCESS} AND w.action IN ({_RESTORES}) AND w.updated_at >= %(not_before)s
  -- notified: linked to a Restoration Completed alert, whoever recorded it (a digest, the registry)
  AND NOT EXISTS (
    SELECT 1 FROM alerts_work_items l JOIN alerts a ON a.id = l.alert_id
    WHERE l.work_item_id = w.id AND a.type = {_literals(RESTORATION_COMPLETED)})
ORDER BY w.institution_id, w.id
FOR UPDATE OF w SKIP LOCKED
"""

# The registry's users by address, case-insensitively (the parameter is lowercased).
ACTIVE_USERS_BY_EMAIL = """
SELECT id, email, institution_id FROM users
WHERE lower(email) = %(email)s AND deactivated_at IS NULL
ORDER BY id
"""

# The active registry users among requesters' addresses (keys lowercased, as ``mail.requester_key``).
ACTIVE_USERS_BY_KEYS = """
SELECT id AS user_id, email, lower(email) AS key FROM users
WHERE lower(email) = ANY(%(keys)s) AND deactivated_at IS NULL
ORDER BY id
"""

# -- bulk deletion ---------------------------------------------------------------------

INSTITUTION_BY_IDENTIFIER = """
SELECT id, identifier, name FROM institutions WHERE identifier = %(identifier)s
"""

_PENDING_ON_OBJECT = f"""
    SELECT w.id FROM work_items w
    WHERE w.intellectual_object_id = {{object_id}} AND w.status NOT IN ({_COMPLETED})
    UNION
    SELECT w.id FROM generic_files gf JOIN work_items w ON w.generic_file_id = gf.id
    WHERE gf.intellectual_object_id = {{object_id}} AND w.status NOT IN ({_COMPLETED})
"""

OBJECTS_BY_IDENTIFIER = f"""
SELECT 'object' AS kind, o.identifier, o.id AS intellectual_object_id, NULL::bigint AS generic_file_id,
       o.institution_id, inst.identifier AS institution, o.state,
       ARRAY(SELECT id FROM ({_PENDING_ON_OBJECT.format(object_id="o.id")}) pending ORDER BY id) AS pending_work_item_ids
FROM intellectual_objects o JOIN institutions inst ON inst.id = o.institution_id
WHERE o.identifier = ANY(%(identifiers)s)
FOR UPDATE OF o
"""

# A file is blocked by pending work on itself or on its parent object (and so its siblings).
FILES_BY_IDENTIFIER = f"""
SELECT 'file' AS kind, f.identifier, f.intellectual_object_id, f.id AS generic_file_id,
       f.institution_id, inst.identifier AS institution, f.state,
       ARRAY(SELECT id FROM ({_PENDING_ON_OBJECT.format(object_id="f.intellectual_object_id")}) pending
             ORDER BY id) AS pending_work_item_ids
FROM generic_files f JOIN institutions inst ON inst.id = f.institution_id
WHERE f.identifier = ANY(%(identifiers)s)
FOR UPDATE OF f
"""
