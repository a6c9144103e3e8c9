"""The statements of bulk deletion on the registry's own model (``deletion_requests``), parameterised only.

Beside ``sql.py`` like ``alerts_sql.py``: ``%(name)s`` placeholders only, never built from values.
"""

from __future__ import annotations

# The deletion request a run recorded (a retry or clear finds it), who asked and decided, and its
# Delete WorkItems.
DELETION_REQUEST_OF_RUN = """
SELECT r.id AS deletion_request_id, requester.email AS requested_by, confirmer.email AS confirmed_by,
       canceller.email AS cancelled_by, r.confirmed_at, r.cancelled_at,
       ARRAY(SELECT w.id FROM work_items w WHERE w.deletion_request_id = r.id AND w.action = 'Delete' ORDER BY w.id)
           AS work_item_ids
FROM dag_deletion_requests d
JOIN deletion_requests r ON r.id = d.deletion_request_id
LEFT JOIN users requester ON requester.id = r.requested_by_id
LEFT JOIN users confirmer ON confirmer.id = r.confirmed_by_id
LEFT JOIN users canceller ON canceller.id = r.cancelled_by_id
WHERE d.request_key = %(request_key)s
"""

INSERT_DELETION_REQUEST = """
INSERT INTO deletion_requests (institution_id, requested_by_id, requested_at, encrypted_confirmation_token,
                               confirmed_by_id, confirmed_at, cancelled_by_id, cancelled_at)
VALUES (%(institution_id)s, %(requested_by_id)s, %(requested_at)s, %(encrypted_confirmation_token)s,
        %(confirmed_by_id)s, CASE WHEN %(confirmed)s THEN now() END,
        %(cancelled_by_id)s, CASE WHEN %(confirmed)s THEN NULL ELSE now() END)
RETURNING id
"""

INSERT_DELETION_REQUEST_OBJECTS = """
INSERT INTO deletion_requests_intellectual_objects (deletion_request_id, intellectual_object_id)
SELECT %(deletion_request_id)s, unnest(%(ids)s::bigint[])
ON CONFLICT DO NOTHING
"""

INSERT_DELETION_REQUEST_FILES = """
INSERT INTO deletion_requests_generic_files (deletion_request_id, generic_file_id)
SELECT %(deletion_request_id)s, unnest(%(ids)s::bigint[])
ON CONFLICT DO NOTHING
"""

INSERT_DAG_DELETION_REQUEST = """
INSERT INTO dag_deletion_requests (request_key, deletion_request_id)
VALUES (%(request_key)s, %(deletion_request_id)s)
"""
