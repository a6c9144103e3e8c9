"""The statements of the restoration request (``aptrust_restore_request``), parameterised only.

Kept beside ``sql.py`` rather than in it while the registry alignment (issue #14) reworks
that module; same rules: ``%(name)s`` placeholders, constants composed at import time
from the module's own vocabulary, never from values.
"""

from __future__ import annotations

from include.aptrust.restore_request import INGEST_RECORDED_STAGES
from include.aptrust.work_items import COMPLETED_STATUSES, SUCCESS


def _quoted(*words: str) -> str:
    """SQL literals of the registry's vocabulary (constants without quotes, never input)."""
    assert not any("'" in word for word in words)
    return ", ".join(f"'{word}'" for word in words)


_COMPLETED = _quoted(*COMPLETED_STATUSES)
_SUCCESS = _quoted(SUCCESS)
_INGEST_RECORDED_STAGES = _quoted(*INGEST_RECORDED_STAGES)

# An object's pending work: on the object, on any of its files, and a re-ingest of its
# bag that the workers have not linked to the object yet.
_PENDING_ON_OBJECT = f"""ARRAY(
    SELECT w.id FROM work_items w
    WHERE w.intellectual_object_id = o.id AND w.status NOT IN ({_COMPLETED})
    UNION
    SELECT w.id FROM generic_files gf JOIN work_items w ON w.generic_file_id = gf.id
    WHERE gf.intellectual_object_id = o.id AND w.status NOT IN ({_COMPLETED})
    UNION
    SELECT w.id FROM work_items w
    WHERE w.institution_id = o.institution_id AND w.intellectual_object_id IS NULL
      AND w.name IN (o.bag_name, o.bag_name || '.tar') AND w.status NOT IN ({_COMPLETED})
    ORDER BY 1)"""

# Everything a restore of the object (or of one of its files) is judged and written from.
_OBJECT_COLUMNS = f"""
       o.id AS intellectual_object_id, o.identifier AS object_identifier, o.state AS object_state,
       o.bag_name, o.storage_option, o.etag AS object_etag, o.created_at AS object_created_at,
       o.institution_id, inst.identifier AS institution, inst.receiving_bucket,
       last.name AS last_name, last.etag AS last_etag, last.bucket AS last_bucket,
       last.bag_date AS last_bag_date, last.institution_id AS last_institution_id,
       (SELECT coalesce(sum(gf.size), 0) FROM generic_files gf
        WHERE gf.intellectual_object_id = o.id AND gf.state = 'A') AS size,
       {_PENDING_ON_OBJECT} AS pending_work_item_ids"""

_LAST_INGEST = f"""
JOIN institutions inst ON inst.id = o.institution_id
LEFT JOIN LATERAL (
    SELECT w.name, w.etag, w.bucket, w.bag_date, w.institution_id FROM work_items w
    WHERE w.intellectual_object_id = o.id AND w.status = {_SUCCESS} AND w.stage IN ({_INGEST_RECORDED_STAGES})
    ORDER BY w.date_processed DESC NULLS LAST, w.id DESC
    LIMIT 1
) last ON true"""

_OBJECTS = f"""
SELECT 'object' AS kind, o.identifier, NULL::bigint AS generic_file_id, NULL::text AS file_state,{_OBJECT_COLUMNS}
FROM intellectual_objects o{_LAST_INGEST}
WHERE o.identifier = ANY(%(identifiers)s)
ORDER BY o.id
"""

_FILES = f"""
SELECT 'file' AS kind, f.identifier, f.id AS generic_file_id, f.state::text AS file_state,{_OBJECT_COLUMNS}
FROM generic_files f
JOIN intellectual_objects o ON o.id = f.intellectual_object_id{_LAST_INGEST}
WHERE f.identifier = ANY(%(identifiers)s)
ORDER BY o.id, f.id
"""

OBJECTS_BY_IDENTIFIER = _OBJECTS
FILES_BY_IDENTIFIER = _FILES

# The creating transaction locks the rows first and reads them afterwards, in a second
# statement: a statement that waited for a lock still answers from the snapshot it
# started with, so it would miss the WorkItems the lock holder committed meanwhile.
LOCK_OBJECTS = """
SELECT o.id FROM intellectual_objects o
WHERE o.identifier = ANY(%(identifiers)s)
ORDER BY o.id
FOR UPDATE
"""

# a file's parent object too: pending work on the object blocks the file
LOCK_FILES = """
SELECT f.id FROM generic_files f JOIN intellectual_objects o ON o.id = f.intellectual_object_id
WHERE f.identifier = ANY(%(identifiers)s)
ORDER BY o.id, f.id
FOR UPDATE OF f, o
"""

# The parameter is the requester's address key (lowercased).
ACTIVE_USERS_BY_EMAIL = """
SELECT u.id, u.email, u.role, u.institution_id, inst.identifier AS institution
FROM users u JOIN institutions inst ON inst.id = u.institution_id
WHERE lower(u.email) = %(email)s AND u.deactivated_at IS NULL
ORDER BY u.id
"""

# Serialises the creating transactions of one run (a retry racing a stuck first try).
LOCK_RUN = """
SELECT pg_advisory_xact_lock(hashtextextended(%(lock_key)s, 0))
"""

RUN_WORK_ITEMS = """
SELECT r.identifier, r.work_item_id, w.action, w.queued_at
FROM dag_restore_requests r JOIN work_items w ON w.id = r.work_item_id
WHERE r.dag_run_id = %(dag_run_id)s
ORDER BY r.work_item_id
"""

INSERT_RESTORE_WORK_ITEM = """
INSERT INTO work_items (name, etag, institution_id, intellectual_object_id, generic_file_id, bucket, "user",
                        inst_approver, aptrust_approver, note, action, stage, status, outcome, bag_date,
                        date_processed, retry, queued_at, size, created_at, updated_at)
VALUES (%(name)s, %(etag)s, %(institution_id)s, %(intellectual_object_id)s, %(generic_file_id)s, %(bucket)s,
        %(user)s, NULL, NULL, %(note)s, %(action)s, %(stage)s, %(status)s, %(outcome)s, %(bag_date)s,
        now(), %(retry)s, NULL, %(size)s, now(), now())
RETURNING id
"""

RECORD_RUN_WORK_ITEM = """
INSERT INTO dag_restore_requests (dag_run_id, identifier, work_item_id)
VALUES (%(dag_run_id)s, %(identifier)s, %(work_item_id)s)
"""
