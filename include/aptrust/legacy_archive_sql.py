"""The statements of the legacy Pharos archive (``aptrust_legacy_pharos_archive``), parameterised only.

Values go through ``%(name)s`` placeholders. The legacy tables' schema and names are
identifiers, composed with psycopg's ``sql.Identifier`` (quoted by the driver, never
pasted): the names come from the fixed vocabulary of ``legacy_archive``, the schema from
a setting checked by ``schema_name``.
"""

from __future__ import annotations

import re

from psycopg import sql

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def schema_name(value: str) -> str:
    """The legacy tables' schema setting, refused unless a plain lower-case PostgreSQL name."""
    if not isinstance(value, str) or not _SCHEMA_NAME.fullmatch(value):
        raise ValueError(f"legacy schema setting {value!r} is not a plain PostgreSQL schema name")
    return value


LEGACY_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = %(schema)s AND table_name = ANY(%(tables)s)
ORDER BY table_name, ordinal_position
"""

_ALL_ROWS = sql.SQL("SELECT * FROM {}.{}")
_COUNT_ROWS = sql.SQL("SELECT count(*) FROM {}.{}")
_ENTITY_IDS = sql.SQL("SELECT id FROM {}.{}")
_LOCK = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE")
_DROP = sql.SQL("DROP TABLE {}.{}")


def all_rows(schema: str, table: str) -> sql.Composed:
    return _ALL_ROWS.format(sql.Identifier(schema), sql.Identifier(table))


def count_rows(schema: str, table: str) -> sql.Composed:
    return _COUNT_ROWS.format(sql.Identifier(schema), sql.Identifier(table))


def entity_ids(schema: str, table: str) -> sql.Composed:
    return _ENTITY_IDS.format(sql.Identifier(schema), sql.Identifier(table))


def lock_tables(schema: str, tables: list[str]) -> sql.Composed:
    return _LOCK.format(sql.SQL(", ").join(sql.Identifier(schema, table) for table in tables))


def drop_table(schema: str, table: str) -> sql.Composed:
    return _DROP.format(sql.Identifier(schema), sql.Identifier(table))


OBJECT_IDENTIFIERS = "SELECT id, identifier FROM intellectual_objects WHERE id = ANY(%(ids)s)"
FILE_IDENTIFIERS = "SELECT id, identifier FROM generic_files WHERE id = ANY(%(ids)s)"
INSTITUTION_IDENTIFIERS = "SELECT id, identifier FROM institutions WHERE id = ANY(%(ids)s)"

# The export in force: the latest one not superseded.
CURRENT_EXPORT = """
SELECT digest, manifest, run_id, created_at, approved_by, approved_at, dropped_at, dropped_tables
FROM legacy_pharos_exports WHERE superseded_by IS NULL
ORDER BY created_at DESC LIMIT 1
"""

RECORD_DIGESTS = "SELECT legacy_table, legacy_id, sha256 FROM legacy_pharos_records"

RECORDS = """
SELECT legacy_table, legacy_id, sha256, document FROM legacy_pharos_records
ORDER BY legacy_table, legacy_id
"""

RECORDS_OF_TABLES = """
SELECT document FROM legacy_pharos_records WHERE legacy_table = ANY(%(tables)s)
"""

DELETE_RECORDS_NOT_IN = """
DELETE FROM legacy_pharos_records
WHERE NOT ((legacy_table, legacy_id) IN (SELECT * FROM unnest(%(tables)s::text[], %(ids)s::bigint[])))
"""

# An unchanged document keeps the run that first wrote it.
UPSERT_RECORD = """
INSERT INTO legacy_pharos_records (legacy_table, legacy_id, document, sha256, rows, run_id)
VALUES (%(legacy_table)s, %(legacy_id)s, %(document)s, %(sha256)s, %(rows)s, %(run_id)s)
ON CONFLICT (legacy_table, legacy_id) DO UPDATE
SET document = EXCLUDED.document, sha256 = EXCLUDED.sha256, rows = EXCLUDED.rows, run_id = EXCLUDED.run_id
WHERE legacy_pharos_records.sha256 <> EXCLUDED.sha256
"""

# A new export after a drop keeps the list of tables already dropped: their documents are archived ones.
INSERT_EXPORT = """
INSERT INTO legacy_pharos_exports (digest, manifest, run_id, dropped_tables)
VALUES (%(digest)s, %(manifest)s, %(run_id)s, %(dropped_tables)s)
ON CONFLICT (digest) DO UPDATE SET superseded_by = NULL
"""

SUPERSEDE_EXPORTS = """
UPDATE legacy_pharos_exports SET superseded_by = %(digest)s
WHERE superseded_by IS NULL AND digest <> %(digest)s
"""

RECORD_DROP = """
UPDATE legacy_pharos_exports
SET approved_by = %(approved_by)s, approved_at = coalesce(%(approved_at)s, now()), dropped_at = now(),
    dropped_tables = coalesce(dropped_tables, '{}') || %(dropped_tables)s::text[]
WHERE digest = %(digest)s
"""
