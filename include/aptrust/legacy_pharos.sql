-- The legacy Pharos tables, applied after registry.sql by the same loader (devstack.demo_seed_aptrust.registry_ddl).
-- Idempotent like it.

-- The 14 tables Pharos left in the registry database, which no registry code reads; the
-- archive DAG aptrust_legacy_pharos_archive keeps their rows as JSON and drops them after
-- approval (docs/aptrust-legacy-archive.md). Columns and types exactly as Pharos has them (docs/aptrust.md, "Legacy Pharos
-- tables"): timestamps without time zone holding UTC, no foreign keys, join tables without a
-- key (duplicate rows possible). Here they live in a schema `pharos` of their own, for the tests
-- and the demo (Variable aptrust_legacy_schema points the DAG at it); a production registry of
-- the Pharos era has them in `public`, the DAG's default, and this file only adds the empty schema.
CREATE SCHEMA IF NOT EXISTS pharos;

CREATE TABLE IF NOT EXISTS pharos.bulk_delete_jobs (
    id                        bigserial PRIMARY KEY,
    requested_by              varchar,
    institutional_approver    varchar,
    aptrust_approver          varchar,
    institutional_approval_at timestamp,
    aptrust_approval_at       timestamp,
    note                      text,
    created_at                timestamp NOT NULL,
    updated_at                timestamp NOT NULL,
    institution_id            integer   NOT NULL
);
CREATE TABLE IF NOT EXISTS pharos.bulk_delete_jobs_emails               (bulk_delete_job_id bigint, email_id bigint);
CREATE TABLE IF NOT EXISTS pharos.bulk_delete_jobs_generic_files        (bulk_delete_job_id bigint, generic_file_id bigint);
CREATE TABLE IF NOT EXISTS pharos.bulk_delete_jobs_institutions         (bulk_delete_job_id bigint, institution_id bigint);
CREATE TABLE IF NOT EXISTS pharos.bulk_delete_jobs_intellectual_objects (bulk_delete_job_id bigint, intellectual_object_id bigint);

CREATE TABLE IF NOT EXISTS pharos.confirmation_tokens (
    id                     bigserial PRIMARY KEY,
    token                  varchar,
    intellectual_object_id integer,
    generic_file_id        integer,
    institution_id         integer,
    user_id                integer
);

CREATE TABLE IF NOT EXISTS pharos.emails (
    id                     bigserial PRIMARY KEY,
    email_type             varchar,
    event_identifier       varchar,
    item_id                integer,
    email_text             text,
    user_list              text,
    created_at             timestamp NOT NULL,
    updated_at             timestamp NOT NULL,
    intellectual_object_id integer,
    generic_file_id        integer,
    institution_id         integer
);
CREATE TABLE IF NOT EXISTS pharos.emails_generic_files        (generic_file_id bigint, email_id bigint);
CREATE TABLE IF NOT EXISTS pharos.emails_intellectual_objects (intellectual_object_id bigint, email_id bigint);
CREATE TABLE IF NOT EXISTS pharos.emails_premis_events        (premis_event_id bigint, email_id bigint);
CREATE TABLE IF NOT EXISTS pharos.emails_work_items           (work_item_id bigint, email_id bigint);

CREATE TABLE IF NOT EXISTS pharos.old_passwords (
    id                       bigserial PRIMARY KEY,
    encrypted_password       varchar NOT NULL,
    password_salt            varchar,
    password_archivable_type varchar NOT NULL,
    password_archivable_id   integer NOT NULL,
    created_at               timestamp
);

CREATE TABLE IF NOT EXISTS pharos.snapshots (
    id             bigserial PRIMARY KEY,
    audit_date     timestamp,
    institution_id integer,
    apt_bytes      bigint,
    cost           numeric,
    created_at     timestamp NOT NULL,
    updated_at     timestamp NOT NULL,
    snapshot_type  varchar,
    cs_bytes       bigint,
    go_bytes       bigint
);

CREATE TABLE IF NOT EXISTS pharos.usage_samples (
    id             serial PRIMARY KEY,
    created_at     timestamp NOT NULL,
    updated_at     timestamp NOT NULL,
    institution_id varchar,
    data           text
);

-- The archive's own tables (DAG aptrust_legacy_pharos_archive), in the registry's schema.
-- legacy_pharos_records holds the documents of the export in force, one per legacy entity
-- (and one per join table for its orphaned rows, legacy_id 0); sha256 is that of the
-- document's canonical line, rows the legacy rows it accounts for per table.
CREATE TABLE IF NOT EXISTS legacy_pharos_records (
    legacy_table varchar NOT NULL,
    legacy_id    bigint  NOT NULL,
    document     jsonb   NOT NULL,
    sha256       char(64) NOT NULL,
    rows         jsonb   NOT NULL,
    run_id       varchar NOT NULL,
    PRIMARY KEY (legacy_table, legacy_id)
);
-- One row per export (result digest); the one in force has superseded_by NULL. The tables an
-- approved drop removed are listed in dropped_tables (old_passwords only when the run asked).
CREATE TABLE IF NOT EXISTS legacy_pharos_exports (
    digest         char(64)    PRIMARY KEY,
    manifest       jsonb       NOT NULL,
    run_id         varchar     NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    approved_by    varchar,
    approved_at    timestamptz,
    dropped_at     timestamptz,
    dropped_tables text[],
    superseded_by  char(64)    REFERENCES legacy_pharos_exports (digest)
);
