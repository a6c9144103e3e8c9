"""The 14 legacy Pharos tables on the real PostgreSQL: the one DDL creates each with exactly the
spec's column set (the archive recognises them by it), and the demo seed fills every one of
them with join rows that all point at existing rows."""

from __future__ import annotations

import re
from collections import Counter

from devstack.demo_seed_aptrust import LEGACY_PHAROS_JOIN_TABLES, LEGACY_PHAROS_TABLES, LEGACY_SCHEMA
from tests.include.aptrust.fixtures import (  # noqa: F401 - fixtures
    LEGACY_PHAROS_COLUMNS,
    legacy_columns,
    legacy_registry,
    legacy_rows,
    registry,
    rows,
)

# where each join column points (legacy entity tables in LEGACY_SCHEMA, registry tables in public)
PARENTS = {
    "bulk_delete_job_id": f"{LEGACY_SCHEMA}.bulk_delete_jobs",
    "email_id": f"{LEGACY_SCHEMA}.emails",
    "generic_file_id": "public.generic_files",
    "institution_id": "public.institutions",
    "intellectual_object_id": "public.intellectual_objects",
    "premis_event_id": "public.premis_events",
    "work_item_id": "public.work_items",
}


def _exists(registry, table: str, id_: int) -> bool:
    return bool(rows(registry, f"SELECT 1 FROM {table} WHERE id = %(id)s", {"id": id_}))


def test_the_spec_names_fourteen_legacy_tables():
    assert len(LEGACY_PHAROS_COLUMNS) == 14
    assert sorted(LEGACY_PHAROS_TABLES) == sorted(LEGACY_PHAROS_COLUMNS)
    assert set(LEGACY_PHAROS_JOIN_TABLES) <= set(LEGACY_PHAROS_TABLES)


def test_the_ddl_creates_each_legacy_table_with_exactly_the_pharos_columns(registry):
    for table, expected in LEGACY_PHAROS_COLUMNS.items():
        assert legacy_columns(registry, table) == expected, table


def test_join_tables_have_no_key_and_no_foreign_keys(registry):
    constraints = rows(
        registry,
        "SELECT table_name, constraint_type FROM information_schema.table_constraints "
        "WHERE table_schema = %(schema)s AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY', 'UNIQUE')",
        {"schema": LEGACY_SCHEMA},
    )
    keyed = Counter((c["table_name"], c["constraint_type"]) for c in constraints)
    entity_tables = set(LEGACY_PHAROS_TABLES) - set(LEGACY_PHAROS_JOIN_TABLES)
    assert keyed == Counter({(table, "PRIMARY KEY"): 1 for table in entity_tables})


def test_the_ddl_creates_no_pharos_shaped_table_in_public(registry):
    """Pharos's tables are only in their schema: a table of a legacy name in ``public`` (the DAGs'
    own ``emails``/``bulk_delete_jobs`` while they existed) is absent or of another shape."""

    def columns(table: str) -> set[str]:
        return {
            r["column_name"]
            for r in rows(
                registry,
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %(table)s",
                {"table": table},
            )
        }

    for table, pharos in LEGACY_PHAROS_COLUMNS.items():
        assert columns(table) != {column for column, _, _ in pharos}, table
    registry.apply_schema()  # idempotent with the legacy tables there
    assert [c for c, _, _ in legacy_columns(registry, "emails")][:3] == ["id", "email_type", "event_identifier"]


def test_the_archive_tables_are_keyed_by_document_and_by_digest(registry):
    keys = rows(
        registry,
        "SELECT tc.table_name, string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) AS columns "
        "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu "
        "USING (constraint_schema, constraint_name) WHERE tc.constraint_type = 'PRIMARY KEY' "
        "AND tc.table_schema = 'public' AND tc.table_name LIKE 'legacy_pharos_%%' GROUP BY tc.table_name ORDER BY 1",
    )
    assert keys == [
        {"table_name": "legacy_pharos_exports", "columns": "digest"},
        {"table_name": "legacy_pharos_records", "columns": "legacy_table,legacy_id"},
    ]


# what the demo seeds (docs/aptrust.md, "Legacy Pharos tables", says the same)
DEMO_LEGACY_ROWS = {
    "bulk_delete_jobs": 2,
    "bulk_delete_jobs_emails": 3,
    "bulk_delete_jobs_generic_files": 2,
    "bulk_delete_jobs_institutions": 3,
    "bulk_delete_jobs_intellectual_objects": 4,
    "confirmation_tokens": 3,
    "emails": 7,
    "emails_generic_files": 2,
    "emails_intellectual_objects": 5,
    "emails_premis_events": 1,
    "emails_work_items": 3,
    "old_passwords": 4,
    "snapshots": 6,
    "usage_samples": 4,
}


def test_the_demo_seed_writes_rows_into_every_legacy_table(legacy_registry):
    counts = {table: len(legacy_rows(legacy_registry, table)) for table in LEGACY_PHAROS_TABLES}
    assert all(counts.values()), counts
    assert counts == DEMO_LEGACY_ROWS


def test_every_legacy_join_row_points_at_existing_parents(legacy_registry):
    for table in LEGACY_PHAROS_JOIN_TABLES:
        for row in legacy_rows(legacy_registry, table):
            for column, value in row.items():
                assert value is not None, (table, row)
                assert _exists(legacy_registry, PARENTS[column], value), (table, row, column)


def test_legacy_entity_rows_point_at_existing_registry_rows(legacy_registry):
    references = {
        "bulk_delete_jobs": {"institution_id": "public.institutions"},
        "confirmation_tokens": {
            "intellectual_object_id": "public.intellectual_objects",
            "generic_file_id": "public.generic_files",
            "institution_id": "public.institutions",
            "user_id": "public.users",
        },
        "emails": {
            "intellectual_object_id": "public.intellectual_objects",
            "generic_file_id": "public.generic_files",
            "institution_id": "public.institutions",
        },
        "snapshots": {"institution_id": "public.institutions"},
    }
    for table, columns in references.items():
        for row in legacy_rows(legacy_registry, table):
            for column, parent in columns.items():
                if row[column] is not None:
                    assert _exists(legacy_registry, parent, row[column]), (table, row["id"], column)
    for row in legacy_rows(legacy_registry, "old_passwords"):
        assert row["password_archivable_type"] == "User"  # pragma: allowlist secret (a column name)
        assert _exists(legacy_registry, "public.users", row["password_archivable_id"])
    for row in legacy_rows(legacy_registry, "usage_samples"):
        assert _exists(legacy_registry, "public.institutions", int(row["institution_id"]))


def test_the_demo_rows_give_the_archive_something_to_redact_and_relate(legacy_registry):
    tokens = [row["token"] for row in legacy_rows(legacy_registry, "confirmation_tokens")]
    assert tokens and all(re.fullmatch(r"[0-9a-f]{32}", token) for token in tokens)
    emails = legacy_rows(legacy_registry, "emails")
    quoted = [t for e in emails for t in re.findall(r"confirmation_token=([0-9a-f]{32})", e["email_text"])]
    assert quoted and set(quoted) <= set(tokens)  # old mails quote the tokens the table holds
    assert any(e["user_list"].startswith("[") for e in emails)  # a few lists are an array's text
    assert any(";" in e["user_list"] for e in emails)
    assert all(row["encrypted_password"] for row in legacy_rows(legacy_registry, "old_passwords"))
    institution_links = Counter(
        tuple(r.values()) for r in legacy_rows(legacy_registry, "bulk_delete_jobs_institutions")
    )
    assert max(institution_links.values()) == 2  # a doubled join row, as Pharos sometimes wrote them
    jobs = legacy_rows(legacy_registry, "bulk_delete_jobs")
    linked = {r["bulk_delete_job_id"] for r in legacy_rows(legacy_registry, "bulk_delete_jobs_intellectual_objects")}
    assert linked == {job["id"] for job in jobs}


def test_the_legacy_rows_change_no_other_demo_row(registry, monkeypatch):
    """Seeded last and adding no registry row: the demo's other rows keep their ids and values."""
    import devstack.demo_seed_aptrust as demo_seed

    def public_rows() -> dict[str, list[dict]]:
        tables = ["institutions", "users", "intellectual_objects", "generic_files", "work_items", "premis_events"]
        return {
            table: [
                {k: v for k, v in r.items() if k not in ("created_at", "updated_at", "date_processed", "queued_at")}
                for r in rows(registry, f"SELECT * FROM {table} ORDER BY id")
            ]
            for table in tables
        }

    with monkeypatch.context() as patch:
        patch.setattr(demo_seed, "seed_legacy_pharos", lambda builder: None)
        demo_seed.seed_registry(registry)
    without_legacy = public_rows()
    assert legacy_rows(registry, "emails") == []
    registry.truncate()
    demo_seed.seed_registry(registry)
    with_legacy = public_rows()
    for rows_ in (without_legacy, with_legacy):  # generated per run
        for row in rows_["premis_events"]:
            row.pop("identifier"), row.pop("date_time")
        for row in rows_["users"]:
            row.pop("deactivated_at")
    assert with_legacy == without_legacy
    assert legacy_rows(registry, "emails")
