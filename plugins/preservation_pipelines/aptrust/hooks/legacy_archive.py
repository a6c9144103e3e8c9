"""The registry side of the legacy Pharos archive: reading the legacy tables, the archive's tables, the drop.

Statements from ``include.aptrust.legacy_archive_sql``; each public method is one
transaction (the legacy tables are read in one REPEATABLE READ snapshot), as in
``AptrustRegistryHook``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from include.aptrust import legacy_archive_sql as sql
from include.aptrust.legacy_archive import (
    ENTITY_COLUMNS,
    JOIN_TABLES,
    JOINS,
    LEGACY_TABLES,
    TOKEN_FIELD,
    build_documents,
    legacy_tables_present,
)
from include.aptrust.legacy_archive_result import ArchiveResult, what_changed
from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook, _rows

_IDENTIFIERS = {
    "intellectual_objects": sql.OBJECT_IDENTIFIERS,
    "generic_files": sql.FILE_IDENTIFIERS,
    "institutions": sql.INSTITUTION_IDENTIFIERS,
}


class ApprovedResultChanged(RuntimeError):
    """The legacy tables no longer give the approved result: nothing was dropped."""


@dataclass
class LegacyContent:
    """The documents of the legacy tables as read in one snapshot (plus the archived ones of tables
    an earlier approved drop removed), and which tables were read."""

    documents: list[dict[str, Any]]
    read: list[str]  # legacy tables present and read
    archived: list[str]  # tables taken from the archive: an earlier export dropped them
    known_tokens: list[str]

    @property
    def result(self) -> ArchiveResult:
        return ArchiveResult.of(self.documents)


class LegacyArchiveHook(AptrustRegistryHook):
    """The legacy tables (in ``schema``) and the archive's tables ``legacy_pharos_records``/``_exports``."""

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A read-only REPEATABLE READ transaction: every statement sees the same snapshot."""
        from psycopg import IsolationLevel

        conn = self.get_conn()
        try:
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.cursor() as cursor:
                yield cursor
            conn.rollback()
        finally:
            conn.close()

    def legacy_content(self, cursor, schema: str, dropped: Sequence[str]) -> LegacyContent:
        """Read the legacy tables of ``schema`` (shape checked) and build their documents.

        Tables ``dropped`` by the export in force are left alone (not even their shape is
        checked) if a table of that name exists again: their documents come from
        ``legacy_pharos_records``.
        """
        cursor.execute(sql.LEGACY_COLUMNS, {"schema": schema, "tables": list(LEGACY_TABLES)})
        columns: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            if table not in dropped:
                columns.setdefault(table, []).append(column)
        present = legacy_tables_present(columns)
        tables = {}
        for table in present:
            cursor.execute(sql.all_rows(schema, table))
            tables[table] = _rows(cursor)
        referenced: dict[str, set[int]] = {name: set() for name in _IDENTIFIERS}
        for row in tables.get("bulk_delete_jobs", []):
            referenced["institutions"].add(row["institution_id"])
        for join in JOINS:
            if join.parent_table == "bulk_delete_jobs" and join.relation in referenced:
                rows = tables.get(join.table, [])
                referenced[join.relation].update(row[join.column] for row in rows if row[join.column] is not None)
        identifiers = {}
        for name, statement in _IDENTIFIERS.items():
            cursor.execute(statement, {"ids": sorted(referenced[name])})
            identifiers[name] = dict(cursor.fetchall())
        known_tokens = [row[TOKEN_FIELD] for row in tables.get("confirmation_tokens", []) if row[TOKEN_FIELD]]
        documents = build_documents(tables, identifiers)
        del tables  # the rows are in the documents now
        archived = sorted(dropped)
        if archived:
            cursor.execute(sql.RECORDS_OF_TABLES, {"tables": archived})
            documents += [row[0] for row in cursor.fetchall()]
            documents.sort(key=lambda document: (document["legacy_table"], document["legacy_id"]))
        return LegacyContent(documents, present, archived, known_tokens)

    def read_legacy(self, schema: str, dropped: Sequence[str]) -> LegacyContent:
        with self.snapshot() as cursor:
            return self.legacy_content(cursor, schema, dropped)

    def current_export(self) -> dict[str, Any] | None:
        rows = self.query(sql.CURRENT_EXPORT)
        return rows[0] if rows else None

    def record_digests(self) -> dict[str, str]:
        """{document key: sha256} of the documents in ``legacy_pharos_records``."""
        return {f"{table}/{legacy_id}": sha for table, legacy_id, sha in self._all(sql.RECORD_DIGESTS)}

    def _all(self, statement: str) -> list[tuple]:
        with self.transaction() as cursor:
            cursor.execute(statement)
            return cursor.fetchall()

    def record_export(self, content: LegacyContent, manifest: dict[str, Any], run_id: str) -> None:
        """In one transaction: the documents replace the archive's, the export is recorded and
        becomes the one in force (any other is marked superseded by it)."""
        from psycopg.types.json import Jsonb

        result = content.result
        digest = manifest["result_sha256"]
        with self.transaction() as cursor:
            keys = [(document["legacy_table"], document["legacy_id"]) for document in content.documents]
            cursor.execute(
                sql.DELETE_RECORDS_NOT_IN,
                {"tables": [table for table, _ in keys], "ids": [legacy_id for _, legacy_id in keys]},
            )
            cursor.executemany(
                sql.UPSERT_RECORD,
                [
                    {
                        "legacy_table": document["legacy_table"],
                        "legacy_id": document["legacy_id"],
                        "document": Jsonb(document),
                        "sha256": result.digests[f"{document['legacy_table']}/{document['legacy_id']}"],
                        "rows": Jsonb(document["rows"]),
                        "run_id": run_id,
                    }
                    for document in content.documents
                ],
            )
            cursor.execute(
                sql.INSERT_EXPORT,
                {
                    "digest": digest,
                    "manifest": Jsonb(manifest),
                    "run_id": run_id,
                    "dropped_tables": content.archived or None,
                },
            )
            cursor.execute(sql.SUPERSEDE_EXPORTS, {"digest": digest})

    def stored_documents(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(f"{table}/{legacy_id}", sha, document) for table, legacy_id, sha, document in self._all(sql.RECORDS)]

    def live_figures(self, schema: str, tables: Sequence[str]) -> tuple[dict[str, int], dict[str, set[int]]]:
        """count(*) of each of ``tables`` and the ids of the entity tables among them, in one snapshot."""
        counts, ids = {}, {}
        with self.snapshot() as cursor:
            for table in tables:
                cursor.execute(sql.count_rows(schema, table))
                counts[table] = cursor.fetchone()[0]
                if table in ENTITY_COLUMNS:
                    cursor.execute(sql.entity_ids(schema, table))
                    ids[table] = {row[0] for row in cursor.fetchall()}
        return counts, ids

    def drop_legacy_tables(
        self, schema: str, *, digest: str, drop: Sequence[str], approved_by: str | None, approved_at: Any = None
    ) -> list[str]:
        """One transaction: lock the legacy tables, recompute the result digest, drop ``drop`` (join
        tables first) if it is still ``digest``, record the approver and when they answered (default now); returns the tables dropped.
        Raises ApprovedResultChanged, dropping nothing, when the result is no longer ``digest``."""
        with self.transaction() as cursor:
            cursor.execute(sql.CURRENT_EXPORT)
            export = next(iter(_rows(cursor)), None)
            if export is None or export["digest"] != digest:
                raise ApprovedResultChanged(f"the export {digest} is no longer the one in force; nothing dropped")
            dropped = list(export["dropped_tables"] or [])
            cursor.execute(sql.LEGACY_COLUMNS, {"schema": schema, "tables": list(LEGACY_TABLES)})
            present = sorted({row[0] for row in cursor.fetchall()} - set(dropped))
            if present:
                cursor.execute(sql.lock_tables(schema, present))
            content = self.legacy_content(cursor, schema, dropped)
            result = content.result
            if result.digest != digest:
                cursor.execute(sql.RECORD_DIGESTS)
                old = {f"{table}/{legacy_id}": sha for table, legacy_id, sha in cursor.fetchall()}
                old_rows = {table: entry["rows"] for table, entry in export["manifest"]["tables"].items()}
                raise ApprovedResultChanged(
                    f"the legacy tables changed since the approved export {digest} (now {result.digest}); "
                    "nothing dropped:\n" + "\n".join(what_changed(old_rows, result, old))
                )
            ordered = [table for table in (*JOIN_TABLES, *ENTITY_COLUMNS) if table in drop and table in present]
            for table in ordered:
                cursor.execute(sql.drop_table(schema, table))
            cursor.execute(
                sql.RECORD_DROP,
                {"digest": digest, "approved_by": approved_by, "approved_at": approved_at, "dropped_tables": ordered},
            )
            return ordered
