-- The APTrust registry tables the batch DAGs read and write (the subset they use),
-- plus the tables the DAGs own: spot_test_restores, dag_restore_requests, dag_deletion_requests, dag_alerts,
-- dag_alert_delivery_errors (never a registry or Pharos name). The 14 legacy Pharos tables are in
-- legacy_pharos.sql; a deployment that ran the DAGs' former emails/bulk_delete_jobs tables migrates with
-- migrations/2026_12_dag_mail_to_alerts.sql (beside this file).
-- The one DDL used by the tests, the demo seed and the benchmark. Idempotent: safe to
-- apply to a database that already has it.

CREATE TABLE IF NOT EXISTS institutions (
    id                             bigserial PRIMARY KEY,
    name                           text        NOT NULL,
    identifier                     text        NOT NULL UNIQUE,
    state                          char(1)     NOT NULL DEFAULT 'A' CHECK (state IN ('A', 'D')),
    spot_restore_frequency         integer     NOT NULL DEFAULT 0 CHECK (spot_restore_frequency >= 0),
    last_spot_restore_work_item_id bigint,
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
    id             bigserial PRIMARY KEY,
    name           text        NOT NULL,
    email          text        NOT NULL UNIQUE,
    institution_id bigint      NOT NULL REFERENCES institutions (id),
    role           text        NOT NULL CHECK (role IN ('institutional_admin', 'institutional_user', 'admin')),
    deactivated_at timestamptz
);
CREATE INDEX IF NOT EXISTS users_active_by_institution
    ON users (institution_id, role) WHERE deactivated_at IS NULL;

CREATE TABLE IF NOT EXISTS intellectual_objects (
    id             bigserial PRIMARY KEY,
    identifier     text        NOT NULL UNIQUE,
    bag_name       text        NOT NULL,
    institution_id bigint      NOT NULL REFERENCES institutions (id),
    state          char(1)     NOT NULL DEFAULT 'A' CHECK (state IN ('A', 'D')),
    storage_option text        NOT NULL DEFAULT 'Standard' CHECK (storage_option IN (
        'Standard', 'Glacier-OH', 'Glacier-OR', 'Glacier-VA', 'Glacier-Deep-OH', 'Glacier-Deep-OR',
        'Glacier-Deep-VA', 'Wasabi-OR', 'Wasabi-TX', 'Wasabi-VA')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- spot-test candidates: an institution's active objects, read from the index alone
CREATE INDEX IF NOT EXISTS intellectual_objects_active_by_institution
    ON intellectual_objects (institution_id, id) WHERE state = 'A';

CREATE TABLE IF NOT EXISTS generic_files (
    id                     bigserial PRIMARY KEY,
    identifier             text        NOT NULL UNIQUE,
    intellectual_object_id bigint      NOT NULL REFERENCES intellectual_objects (id),
    institution_id         bigint      NOT NULL REFERENCES institutions (id),
    size                   bigint,
    state                  char(1)     NOT NULL DEFAULT 'A' CHECK (state IN ('A', 'D')),
    storage_option         text        NOT NULL DEFAULT 'Standard',
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
-- an object's files; its size (sum of the active ones) read from the index alone
CREATE INDEX IF NOT EXISTS generic_files_by_object
    ON generic_files (intellectual_object_id, state) INCLUDE (size);

CREATE TABLE IF NOT EXISTS work_items (
    id                     bigserial PRIMARY KEY,
    name                   text        NOT NULL,
    etag                   text,
    institution_id         bigint      NOT NULL REFERENCES institutions (id),
    intellectual_object_id bigint      REFERENCES intellectual_objects (id),
    generic_file_id        bigint      REFERENCES generic_files (id),
    bucket                 text,
    "user"                 text,
    inst_approver          text,
    aptrust_approver       text,
    note                   text,
    action                 text        NOT NULL CHECK (action IN (
        'Ingest', 'Restore Object', 'Restore File', 'Glacier Restore', 'Delete')),
    stage                  text        NOT NULL DEFAULT 'Requested',
    status                 text        NOT NULL DEFAULT 'Pending' CHECK (status IN (
        'Pending', 'Started', 'Success', 'Failed', 'Cancelled', 'Suspended')),
    outcome                text,
    bag_date               timestamptz,
    date_processed         timestamptz,
    retry                  boolean     NOT NULL DEFAULT true,
    queued_at              timestamptz,
    size                   bigint,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
-- last successful ingest, recent successful restores, per object
CREATE INDEX IF NOT EXISTS work_items_by_object_action
    ON work_items (intellectual_object_id, action, status, date_processed);
-- pending work (anything not completed) is a small slice of the table
CREATE INDEX IF NOT EXISTS work_items_pending_by_object
    ON work_items (intellectual_object_id) WHERE status NOT IN ('Success', 'Failed', 'Cancelled');
CREATE INDEX IF NOT EXISTS work_items_pending_by_file
    ON work_items (generic_file_id) WHERE status NOT IN ('Success', 'Failed', 'Cancelled');
-- the restore digest's candidates: recent successful restores
CREATE INDEX IF NOT EXISTS work_items_successful_restores
    ON work_items (updated_at)
    WHERE status = 'Success' AND action IN ('Restore Object', 'Restore File', 'Glacier Restore');

-- At most one spot test per institution per month: the primary key says so, whatever
-- is retried, cleared, backfilled or run twice at once.
CREATE TABLE IF NOT EXISTS spot_test_restores (
    institution_id bigint      NOT NULL REFERENCES institutions (id),
    month          date        NOT NULL CHECK (extract(day FROM month) = 1),
    work_item_id   bigint      NOT NULL UNIQUE REFERENCES work_items (id),
    dag_run_id     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (institution_id, month)
);

-- Registry columns a restore request falls back on when an object has no successful
-- ingest WorkItem (docs/aptrust.md, aptrust_restore_request). Nullable here so the
-- statement applies to a database holding rows already; the registry's own schema has them.
ALTER TABLE institutions ADD COLUMN IF NOT EXISTS receiving_bucket text;
ALTER TABLE intellectual_objects ADD COLUMN IF NOT EXISTS etag text;
-- a re-ingest not yet linked to its object: pending work on that object by bag name
CREATE INDEX IF NOT EXISTS work_items_pending_unlinked_by_name
    ON work_items (institution_id, name)
    WHERE intellectual_object_id IS NULL AND status NOT IN ('Success', 'Failed', 'Cancelled');

-- The WorkItems each aptrust_restore_request run created, one per identifier: a retry or
-- a clear finds them instead of creating a second set.
CREATE TABLE IF NOT EXISTS dag_restore_requests (
    dag_run_id   text        NOT NULL,
    identifier   text        NOT NULL,
    work_item_id bigint      NOT NULL UNIQUE REFERENCES work_items (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_run_id, identifier)
);

-- PREMIS events: the subset of the registry's columns the alerts read (failed fixity checks).
CREATE TABLE IF NOT EXISTS premis_events (
    id                     bigserial PRIMARY KEY,
    identifier             text        NOT NULL UNIQUE,
    event_type             text        NOT NULL,
    date_time              timestamptz NOT NULL,
    outcome                text        NOT NULL,
    outcome_information    text,
    institution_id         bigint      NOT NULL REFERENCES institutions (id),
    intellectual_object_id bigint      REFERENCES intellectual_objects (id),
    generic_file_id        bigint      REFERENCES generic_files (id),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
-- a day's failed fixity checks ('Failure': Pharos-era rows)
CREATE INDEX IF NOT EXISTS premis_events_failed_fixity
    ON premis_events (date_time) WHERE event_type = 'fixity check' AND outcome IN ('Failed', 'Failure');

-- The registry's deletion requests: who asked, who confirmed or cancelled, which objects and
-- files. encrypted_confirmation_token is a bcrypt hash; the DAG's is of a token never sent.
CREATE TABLE IF NOT EXISTS deletion_requests (
    id                           bigserial PRIMARY KEY,
    institution_id               bigint      NOT NULL REFERENCES institutions (id),
    requested_by_id              bigint      REFERENCES users (id),
    requested_at                 timestamptz NOT NULL,
    encrypted_confirmation_token text        NOT NULL,
    confirmed_by_id              bigint      REFERENCES users (id),
    confirmed_at                 timestamptz,
    cancelled_by_id              bigint      REFERENCES users (id),
    cancelled_at                 timestamptz
);

CREATE TABLE IF NOT EXISTS deletion_requests_intellectual_objects (
    deletion_request_id    bigint NOT NULL REFERENCES deletion_requests (id),
    intellectual_object_id bigint NOT NULL REFERENCES intellectual_objects (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS deletion_requests_intellectual_objects_pair
    ON deletion_requests_intellectual_objects (deletion_request_id, intellectual_object_id);

CREATE TABLE IF NOT EXISTS deletion_requests_generic_files (
    deletion_request_id bigint NOT NULL REFERENCES deletion_requests (id),
    generic_file_id     bigint NOT NULL REFERENCES generic_files (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS deletion_requests_generic_files_pair
    ON deletion_requests_generic_files (deletion_request_id, generic_file_id);

-- the deletion request a Delete WorkItem carries out
ALTER TABLE work_items ADD COLUMN IF NOT EXISTS deletion_request_id bigint REFERENCES deletion_requests (id);

-- The deletion request each aptrust_bulk_delete run recorded (request_key: dag id/run id): a retry
-- or clear finds it instead of recording a second one.
CREATE TABLE IF NOT EXISTS dag_deletion_requests (
    request_key         text        PRIMARY KEY,
    deletion_request_id bigint      NOT NULL UNIQUE REFERENCES deletion_requests (id),
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- The registry's alerts: what was told to whom (one alerts_users row per recipient) about
-- which WorkItems and PREMIS events, and which deletion request.
CREATE TABLE IF NOT EXISTS alerts (
    id                  bigserial PRIMARY KEY,
    institution_id      bigint      REFERENCES institutions (id),
    type                text        NOT NULL CHECK (type IN (
        'Deletion Cancelled', 'Deletion Completed', 'Deletion Confirmed', 'Deletion Requested',
        'Failed Fixity Check', 'Restoration Completed', 'Password Changed', 'Password Reset',
        'Stalled Work Items', 'Welcome New User')),
    subject             text        NOT NULL,
    content             text        NOT NULL,
    deletion_request_id bigint      REFERENCES deletion_requests (id),
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alerts_by_institution_type ON alerts (institution_id, type);

CREATE TABLE IF NOT EXISTS alerts_users (
    alert_id bigint      NOT NULL REFERENCES alerts (id),
    user_id  bigint      NOT NULL REFERENCES users (id),
    -- set once that recipient's mail was accepted; the registry UI sets read_at
    sent_at  timestamptz,
    read_at  timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_users_pair ON alerts_users (alert_id, user_id);
CREATE INDEX IF NOT EXISTS alerts_users_by_user ON alerts_users (user_id);

CREATE TABLE IF NOT EXISTS alerts_work_items (
    alert_id     bigint NOT NULL REFERENCES alerts (id),
    work_item_id bigint NOT NULL REFERENCES work_items (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_work_items_pair ON alerts_work_items (alert_id, work_item_id);
-- "is this item already alerted?" (the registry has no such index)
CREATE INDEX IF NOT EXISTS alerts_work_items_by_work_item ON alerts_work_items (work_item_id);

CREATE TABLE IF NOT EXISTS alerts_premis_events (
    alert_id        bigint NOT NULL REFERENCES alerts (id),
    premis_event_id bigint NOT NULL REFERENCES premis_events (id)
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_premis_events_pair ON alerts_premis_events (alert_id, premis_event_id);
CREATE INDEX IF NOT EXISTS alerts_premis_events_by_event ON alerts_premis_events (premis_event_id);

-- The alerts the DAGs recorded (the outbox: only these are ever sent by the DAGs), by run.
CREATE TABLE IF NOT EXISTS dag_alerts (
    alert_id       bigint      PRIMARY KEY REFERENCES alerts (id),
    dag_id         text        NOT NULL,
    dag_run_id     text        NOT NULL,
    type           text        NOT NULL,
    audience       text        NOT NULL CHECK (audience IN ('institution', 'aptrust')),
    interval_start timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dag_alerts_by_run ON dag_alerts (dag_id, dag_run_id, type);

-- A recipient the SMTP server refused (or whose address cannot be sent to): never retried.
CREATE TABLE IF NOT EXISTS dag_alert_delivery_errors (
    alert_id   bigint      NOT NULL REFERENCES alerts (id),
    user_id    bigint      NOT NULL REFERENCES users (id),
    error      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, user_id)
);
