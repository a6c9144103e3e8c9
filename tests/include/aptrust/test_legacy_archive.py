"""The legacy archive's documents: every row in exactly one document, canonical form stable, no
secret in clear, orphans, recipients, what changed, verification (Hypothesis properties)."""

from __future__ import annotations

import json
import random
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.aptrust.legacy_archive import (
    JOINS,
    LEGACY_COLUMNS,
    UnexpectedShape,
    build_documents,
    legacy_tables_present,
    recipients,
    redacted_text,
    sha256_hex,
)
from include.aptrust.legacy_archive_approval import approval_body, verified_figures
from include.aptrust.legacy_archive_result import (
    PLAINTEXT_TOKEN,
    ArchiveResult,
    StoredExport,
    canonical,
    droppable_tables,
    manifest_bytes,
    sha256sums,
    verification_problems,
    what_changed,
)
from tests.include.aptrust.fixtures import LEGACY_PHAROS_COLUMNS

HEX = "0123456789abcdef"
TOKENS = st.text(HEX, min_size=32, max_size=32)
IDS = st.one_of(st.none(), st.integers(1, 6))
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
STAMP = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1))


def _entity_rows(table: str, ids: list[int], draw) -> list[dict]:
    by_type = {
        "bigint": IDS,
        "integer": IDS,
        "character varying": st.one_of(st.none(), TEXT),
        "text": st.one_of(st.none(), TEXT),
        "timestamp without time zone": st.one_of(st.none(), STAMP),
        "numeric": st.one_of(st.none(), st.decimals(allow_nan=False, allow_infinity=False, places=2)),
    }
    columns = {column: by_type[kind] for column, kind, _ in LEGACY_PHAROS_COLUMNS[table]}
    columns["token"] = st.one_of(st.none(), TOKENS)
    return [
        {
            column: legacy_id if column == "id" else draw(values)
            for column, values in columns.items()
            if column in LEGACY_COLUMNS[table]
        }
        for legacy_id in ids
    ]


@st.composite
def legacy_tables(draw):
    """Some legacy tables with rows: entity ids 1..6, join rows pointing at present, missing or NULL parents."""
    tables = {}
    for table in ("bulk_delete_jobs", "confirmation_tokens", "emails", "old_passwords", "snapshots", "usage_samples"):
        if draw(st.booleans()):
            ids = sorted(draw(st.sets(st.integers(1, 6), max_size=4)))
            tables[table] = _entity_rows(table, ids, draw)
    for join in JOINS:
        if draw(st.booleans()):
            pairs = draw(st.lists(st.tuples(IDS, IDS), max_size=6))
            tables[join.table] = [{join.parent_column: parent, join.column: other} for parent, other in pairs]
    for row in tables.get("emails", []):
        token = draw(st.one_of(st.none(), TOKENS))
        if token:
            row["email_text"] = f"{row['email_text']} https://x/confirm?confirmation_token={token}&a=1"
    return tables


IDENTIFIERS = {"intellectual_objects": {1: "test.edu/bag"}, "generic_files": {}, "institutions": {1: "test.edu"}}


@given(legacy_tables())
def test_every_legacy_row_lands_in_exactly_one_document(tables):
    documents = build_documents(tables, IDENTIFIERS)
    result = ArchiveResult.of(documents)
    assert result.rows == {table: len(tables.get(table, [])) for table in LEGACY_COLUMNS}
    keys = [(d["legacy_table"], d["legacy_id"]) for d in documents]
    assert keys == sorted(set(keys))  # one document per key, sorted
    for table in ("bulk_delete_jobs", "emails", "snapshots"):
        assert {d["legacy_id"] for d in documents if d["legacy_table"] == table} == {
            r["id"] for r in tables.get(table, [])
        }


@given(legacy_tables(), st.randoms())
def test_the_canonical_form_does_not_depend_on_row_order(tables, shuffler):
    shuffled = {table: shuffler.sample(rows, len(rows)) for table, rows in tables.items()}
    first = ArchiveResult.of(build_documents(tables, IDENTIFIERS))
    again = ArchiveResult.of(build_documents(shuffled, IDENTIFIERS))
    assert first.content == again.content and first.digest == again.digest
    # a line re-read (as from jsonb) gives the same canonical line
    assert all(canonical(json.loads(line)) == line for line in first.lines)


@given(legacy_tables())
def test_no_token_or_password_hash_survives(tables):
    result = ArchiveResult.of(build_documents(tables, IDENTIFIERS))
    text = result.content.decode()
    tokens = [row["token"] for row in tables.get("confirmation_tokens", []) if row["token"]]
    assert not PLAINTEXT_TOKEN.search(text)
    assert not any(token in text for token in tokens)
    assert '"encrypted_password":' not in text and '"password_salt":' not in text


@given(TEXT, st.lists(TOKENS, max_size=3), TEXT)
def test_redaction_replaces_every_quoted_and_every_known_token(before, tokens, after):
    quoted = "".join(f"?confirmation_token={token}&" for token in tokens)
    loose = " ".join(tokens)
    redacted, count = redacted_text(f"{before}{quoted}{after} {loose}", tokens)
    assert not any(token in redacted for token in tokens)
    assert count >= 2 * len(tokens)
    assert redacted_text(redacted, tokens)[0] == redacted  # already redacted text is left as is


def test_redaction_in_a_pharos_mail():
    token = "0" * 31 + "1"
    text = f"Approve: https://repo.aptrust.org/bulk_delete/1/approve?confirmation_token={token}"
    redacted, count = redacted_text(text)
    assert count == 1 and redacted.endswith(f"confirmation_token=sha256:{sha256_hex(token)}")


def test_orphans_and_duplicates_and_relations():
    tables = {
        "bulk_delete_jobs": [
            {"id": 1, "institution_id": 1, "note": None, "created_at": datetime(2022, 1, 10, 14), "updated_at": None}
        ],
        "bulk_delete_jobs_institutions": [
            {"bulk_delete_job_id": 1, "institution_id": 1},
            {"bulk_delete_job_id": 1, "institution_id": 1},
            {"bulk_delete_job_id": None, "institution_id": 1},
            {"bulk_delete_job_id": 9, "institution_id": 1},
        ],
        "bulk_delete_jobs_intellectual_objects": [{"bulk_delete_job_id": 1, "intellectual_object_id": 1}],
        "snapshots": [{"id": 3, "cost": Decimal("12.30"), "audit_date": datetime(2022, 1, 1, 5, 0, 0, 120)}],
    }
    documents = {(d["legacy_table"], d["legacy_id"]): d for d in build_documents(tables, IDENTIFIERS)}
    job = documents[("bulk_delete_jobs", 1)]
    assert job["relations"]["institutions"] == [{"institution_id": 1}, {"institution_id": 1}]
    assert job["relations"]["intellectual_objects"] == [{"intellectual_object_id": 1, "identifier": "test.edu/bag"}]
    assert job["derived"] == {"institution_identifier": "test.edu"}
    assert job["rows"] == {
        "bulk_delete_jobs": 1,
        "bulk_delete_jobs_institutions": 2,
        "bulk_delete_jobs_intellectual_objects": 1,
    }
    assert job["row"]["created_at"] == "2022-01-10T14:00:00"
    orphans = documents[("bulk_delete_jobs_institutions", 0)]
    assert orphans["orphans"] == [
        {"bulk_delete_job_id": 9, "institution_id": 1},
        {"bulk_delete_job_id": None, "institution_id": 1},
    ]
    snapshot = documents[("snapshots", 3)]["row"]
    assert snapshot["cost"] == "12.30" and snapshot["audit_date"] == "2022-01-01T05:00:00.000120"


def test_secrets_are_hashed_or_dropped_and_named():
    tables = {
        "confirmation_tokens": [{"id": 1, "token": "ab" * 16, "user_id": 4}],
        "old_passwords": [
            {"id": 2, "encrypted_password": "$2a$10$x", "password_salt": "s", "password_archivable_id": 4}
        ],
    }
    documents = build_documents(tables, IDENTIFIERS)
    token, password = documents
    assert token["row"] == {"id": 1, "token_sha256": sha256_hex("ab" * 16), "user_id": 4}
    assert token["redacted"] == {"fields": ["token"], "tokens_replaced": 0}
    assert password["row"] == {"id": 2, "password_archivable_id": 4}
    assert password["redacted"]["fields"] == ["encrypted_password", "password_salt"]


@pytest.mark.parametrize(
    ("user_list", "expected"),
    [
        ("admin@demo.edu; approver@demo.edu", ["admin@demo.edu", "approver@demo.edu"]),
        ('["depositor@demo.edu", "admin@demo.edu"]', ["depositor@demo.edu", "admin@demo.edu"]),
        ("['a@x.edu', 'b@x.edu']", ["a@x.edu", "b@x.edu"]),
        ("a@x.edu;;a@x.edu", ["a@x.edu"]),
        ("", []),
        (None, []),
    ],
)
def test_recipients(user_list, expected):
    assert recipients(user_list) == expected


@given(st.text())
def test_recipients_never_fail_and_are_each_once(user_list):
    found = recipients(user_list)
    assert len(found) == len(set(found)) and all(address.strip() for address in found)


def test_a_table_of_another_shape_is_refused_by_name():
    columns = {"snapshots": LEGACY_COLUMNS["snapshots"], "emails": {"id", "subject", "body"}}
    with pytest.raises(
        UnexpectedShape, match=r"emails \(missing \[.*'email_text'.*\], unexpected \['body', 'subject'\]\)"
    ):
        legacy_tables_present(columns)
    assert legacy_tables_present({"snapshots": list(LEGACY_COLUMNS["snapshots"])}) == ["snapshots"]


def test_what_changed_lists_rows_and_keys():
    old = ArchiveResult.of(build_documents({"snapshots": [{"id": n, "cost": None} for n in range(1, 60)]}, {}))
    new_rows = [{"id": n, "cost": "1" if n == 2 else None} for n in range(2, 62)]
    new = ArchiveResult.of(build_documents({"snapshots": new_rows}, {}))
    lines = what_changed(old.rows, new, old.digests)
    assert lines[0] == "snapshots: 59 -> 60 rows"
    assert lines[1].startswith("documents added: 2: snapshots/60, snapshots/61")
    assert lines[2] == "documents removed: 1: snapshots/1" and lines[3] == "documents changed: 1: snapshots/2"
    many = ArchiveResult.of(build_documents({"snapshots": [{"id": n} for n in range(100, 200)]}, {}))
    assert "documents added: 100 (first 50): " in "\n".join(what_changed({}, many, {}))


def _stored(result: ArchiveResult, present: list[str]) -> StoredExport:
    manifest = manifest_bytes(result.manifest(present))
    file_name = result.manifest(present)["file"]["name"]
    documents = [
        (key, sha, json.loads(line)) for (key, sha), line in zip(result.digests.items(), result.lines, strict=True)
    ]
    return StoredExport(
        documents=documents,
        file=result.content,
        manifest=manifest,
        sums=sha256sums({file_name: result.content, "manifest.json": manifest}),
        live_rows={table: result.rows[table] for table in present},
        live_ids={},
        known_tokens=[],
    )


@given(legacy_tables(), st.integers(0, 1000))
def test_verification_passes_on_a_true_export_and_catches_one_changed_byte(tables, seed):
    result = ArchiveResult.of(build_documents(tables, IDENTIFIERS))
    stored = _stored(result, sorted(tables))
    assert verification_problems(stored, result.digest) == []
    if not result.lines:
        return
    position = random.Random(seed).randrange(len(stored.file) - 1)
    flipped = bytearray(stored.file)
    flipped[position] = ord("7") if flipped[position] != ord("7") else ord("8")
    stored.file = bytes(flipped)
    assert verification_problems(stored, result.digest) != []


def test_the_approval_shows_the_figures():
    tables = {"old_passwords": [{"id": 1, "encrypted_password": "h", "password_salt": None}]}
    result = ArchiveResult.of(build_documents(tables, {}))
    manifest = result.manifest(["old_passwords"])
    figures = verified_figures(manifest, "s3://b/p/x.jsonl", droppable_tables(["old_passwords"], True))
    body = approval_body(figures)
    assert "**approving destroys the password history**" in body and result.digest in body
    assert "| `old_passwords` | 1 | 1 | 0 |" in body and "| `snapshots` | absent | 0 | 0 |" in body
    kept = approval_body({**figures, "droppable": droppable_tables(["old_passwords"], False)})
    assert "`old_passwords` is kept" in kept


def test_drop_order_is_join_tables_first():
    present = list(LEGACY_COLUMNS)
    order = droppable_tables(present, False)
    assert order.index("emails_work_items") < order.index("emails") and "old_passwords" not in order
    assert len(order) == 13 and len(droppable_tables(present, True)) == 14


def test_the_statements_take_values_only_through_named_placeholders():
    import re

    from include.aptrust import legacy_archive_sql

    statements = {
        name: value for name, value in vars(legacy_archive_sql).items() if name.isupper() and isinstance(value, str)
    }
    assert len(statements) > 10
    for name, statement in statements.items():
        assert "%" not in re.sub(r"%\(\w+\)s", "", statement), name
    assert legacy_archive_sql.schema_name("pharos") == "pharos"
    for hostile in ("", "Pharos", "public; DROP TABLE x", 'a"b', "x" * 64, None):
        with pytest.raises(ValueError, match="not a plain PostgreSQL schema name"):
            legacy_archive_sql.schema_name(hostile)
