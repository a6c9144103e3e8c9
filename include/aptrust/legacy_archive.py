"""The legacy Pharos tables as JSON documents (DAG ``aptrust_legacy_pharos_archive``).

One document per legacy entity with its join rows embedded, one per join table for the
join rows whose parent is NULL or missing (``legacy_id`` 0), secrets hashed or dropped
(spec: docs/aptrust-legacy-archive.md). Every legacy row lands in exactly one document;
the documents' canonical form, digests and checks are in ``legacy_archive_result``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Each legacy table's exact Pharos column set: a table of that name with another shape is not Pharos's.
ENTITY_COLUMNS: dict[str, frozenset[str]] = {
    "bulk_delete_jobs": frozenset(
        {
            "id",
            "requested_by",
            "institutional_approver",
            "aptrust_approver",
            "institutional_approval_at",
            "aptrust_approval_at",
            "note",
            "created_at",
            "updated_at",
            "institution_id",
        }
    ),
    "confirmation_tokens": frozenset(
        {"id", "token", "intellectual_object_id", "generic_file_id", "institution_id", "user_id"}
    ),
    "emails": frozenset(
        {
            "id",
            "email_type",
            "event_identifier",
            "item_id",
            "email_text",
            "user_list",
            "created_at",
            "updated_at",
            "intellectual_object_id",
            "generic_file_id",
            "institution_id",
        }
    ),
    "old_passwords": frozenset(
        {
            "id",
            "encrypted_password",
            "password_salt",
            "password_archivable_type",
            "password_archivable_id",
            "created_at",
        }
    ),
    "snapshots": frozenset(
        {
            "id",
            "audit_date",
            "institution_id",
            "apt_bytes",
            "cost",
            "created_at",
            "updated_at",
            "snapshot_type",
            "cs_bytes",
            "go_bytes",
        }
    ),
    "usage_samples": frozenset({"id", "created_at", "updated_at", "institution_id", "data"}),
}


@dataclass(frozen=True)
class Join:
    """A Pharos join table: its rows go into the document of their ``parent_table`` row."""

    table: str
    parent_table: str
    parent_column: str
    relation: str
    column: str

    @property
    def columns(self) -> frozenset[str]:
        return frozenset({self.parent_column, self.column})


JOINS = (
    Join("bulk_delete_jobs_emails", "bulk_delete_jobs", "bulk_delete_job_id", "emails", "email_id"),
    Join(
        "bulk_delete_jobs_generic_files", "bulk_delete_jobs", "bulk_delete_job_id", "generic_files", "generic_file_id"
    ),
    Join("bulk_delete_jobs_institutions", "bulk_delete_jobs", "bulk_delete_job_id", "institutions", "institution_id"),
    Join(
        "bulk_delete_jobs_intellectual_objects",
        "bulk_delete_jobs",
        "bulk_delete_job_id",
        "intellectual_objects",
        "intellectual_object_id",
    ),
    Join("emails_generic_files", "emails", "email_id", "generic_files", "generic_file_id"),
    Join("emails_intellectual_objects", "emails", "email_id", "intellectual_objects", "intellectual_object_id"),
    Join("emails_premis_events", "emails", "email_id", "premis_events", "premis_event_id"),
    Join("emails_work_items", "emails", "email_id", "work_items", "work_item_id"),
)
JOIN_TABLES = tuple(join.table for join in JOINS)
LEGACY_COLUMNS: dict[str, frozenset[str]] = {**ENTITY_COLUMNS, **{join.table: join.columns for join in JOINS}}
LEGACY_TABLES = tuple(sorted(LEGACY_COLUMNS))
# The registry tables whose identifiers a bulk deletion job's document carries.
IDENTIFIED = ("intellectual_objects", "generic_files", "institutions")

PASSWORD_FIELDS = ("encrypted_password", "password_salt")
TOKEN_FIELD = "token"
# A token quoted in a Pharos mail's link; a value already hashed (sha256:...) is left alone.
_TOKEN_IN_TEXT = re.compile(r"(confirmation_token=)(?!sha256:)([^\s&\"'<>#]+)", re.IGNORECASE)
ALERT_TYPE_EQUIVALENTS = {
    "fixity": "Failed Fixity Check",
    "multiple_fixity": "Failed Fixity Check",
    "restoration": "Restoration Completed",
    "multiple_restoration": "Restoration Completed",
    "deletion_request": "Deletion Requested",
    "bulk_deletion_request": "Deletion Requested",
    "bulk_deletion_confirmation_partial": "Deletion Requested",
    "deletion_confirmation": "Deletion Confirmed",
    "bulk_deletion_confirmation_final": "Deletion Confirmed",
    "deletion_finished": "Deletion Completed",
    "bulk_deletion_finished": "Deletion Completed",
    "deletion_notifications": "Deletion Completed",
}


class UnexpectedShape(ValueError):
    """Tables named like legacy ones whose columns are not Pharos's: never read, exported or dropped."""


def legacy_tables_present(columns_by_table: Mapping[str, Iterable[str]]) -> list[str]:
    """The legacy tables found (``{table: column names}`` of the schema), checked by their column set.

    Raises UnexpectedShape naming each legacy-named table with other columns, and how they differ.
    """
    wrong = []
    for table, columns in sorted(columns_by_table.items()):
        expected, found = LEGACY_COLUMNS[table], frozenset(columns)
        if found != expected:
            missing, extra = sorted(expected - found), sorted(found - expected)
            wrong.append(f"{table} (missing {missing or 'none'}, unexpected {extra or 'none'})")
    if wrong:
        raise UnexpectedShape(
            "not Pharos's legacy tables (another shape), left alone; point the schema setting at the "
            "legacy tables or rename these: " + "; ".join(wrong)
        )
    return sorted(columns_by_table)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def redacted_text(text: str, known_tokens: Iterable[str] = ()) -> tuple[str, int]:
    """``text`` with every quoted confirmation token replaced by ``sha256:<hex>``; (text, tokens replaced).

    A value after ``confirmation_token=`` is a token, and so is any known token (from
    ``confirmation_tokens``) quoted elsewhere in the text.
    """
    redacted, count = _TOKEN_IN_TEXT.subn(lambda match: f"{match[1]}sha256:{sha256_hex(match[2])}", text)
    for token in sorted(set(known_tokens), key=len, reverse=True):
        if token and token in redacted:
            count += redacted.count(token)
            redacted = redacted.replace(token, f"sha256:{sha256_hex(token)}")
    return redacted, count


def recipients(user_list: str | None) -> list[str]:
    """The addresses in a Pharos ``user_list``: ``;``-separated, or an array's text; each once, in order."""
    if not user_list:
        return []
    text = user_list.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            text = ";".join(str(item) for item in parsed)
        else:
            text = text.strip("[]")
    found = []
    for part in re.split(r"[;,\n]", text):
        address = part.strip().strip("\"'").strip()
        if address and address not in found:
            found.append(address)
    return found


def jsonable(value: Any, where: str) -> Any:
    """A column value in the documents' form: timestamps ISO 8601 as stored, numerics as strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{where}: a {type(value).__name__} value has no document form")


def _id_key(value: int | None) -> tuple[bool, int]:
    return value is None, value or 0


def _join_row_key(row: Mapping[str, Any], join: Join) -> tuple:
    return _id_key(row[join.parent_column]), _id_key(row[join.column])


def build_documents(
    tables: Mapping[str, list[dict[str, Any]]], identifiers: Mapping[str, Mapping[int, str]]
) -> list[dict[str, Any]]:
    """The documents of the legacy tables present (``{table: rows}``), sorted by (legacy_table, legacy_id).

    ``identifiers`` gives, per registry table of IDENTIFIED, {id: identifier}.
    """
    known_tokens = [row[TOKEN_FIELD] for row in tables.get("confirmation_tokens", []) if row[TOKEN_FIELD]]
    documents: dict[tuple[str, int], dict[str, Any]] = {}
    for table in ENTITY_COLUMNS:
        for row in tables.get(table, []):
            document = _entity_document(table, row, known_tokens, identifiers)
            documents[(table, row["id"])] = document
    for join in JOINS:
        orphans = []
        for row in sorted(tables.get(join.table, []), key=lambda r, j=join: _join_row_key(r, j)):
            parent = documents.get((join.parent_table, row[join.parent_column]))
            if parent is None:
                orphans.append({column: row[column] for column in sorted(join.columns)})
                continue
            parent["relations"][join.relation].append(_relation_entry(join, row[join.column], identifiers))
            parent["rows"][join.table] = parent["rows"].get(join.table, 0) + 1
        if orphans:
            documents[(join.table, 0)] = _document(join.table, 0, orphans=orphans, rows={join.table: len(orphans)})
    return [documents[key] for key in sorted(documents)]


def _document(table: str, legacy_id: int, *, fields: tuple[str, ...] = (), tokens: int = 0, **parts) -> dict:
    return {
        "legacy_table": table,
        "legacy_id": legacy_id,
        "redacted": {"fields": list(fields), "tokens_replaced": tokens},
        **parts,
    }


def _relation_entry(join: Join, related_id: int | None, identifiers: Mapping[str, Mapping[int, str]]) -> Any:
    if join.parent_table == "emails":
        return related_id
    entry: dict[str, Any] = {join.column: related_id}
    if join.relation in ("intellectual_objects", "generic_files"):
        entry["identifier"] = identifiers.get(join.relation, {}).get(related_id)
    return entry


def _entity_document(
    table: str, row: Mapping[str, Any], known_tokens: list[str], identifiers: Mapping[str, Mapping[int, str]]
) -> dict[str, Any]:
    values = {column: jsonable(value, f"{table} id {row['id']}, {column}") for column, value in row.items()}
    parts: dict[str, Any] = {"rows": {table: 1}}
    fields: tuple[str, ...] = ()
    tokens = 0
    if table == "confirmation_tokens":
        token = values.pop(TOKEN_FIELD)
        values["token_sha256"] = None if token is None else sha256_hex(token)
        fields = () if token is None else (TOKEN_FIELD,)
    elif table == "old_passwords":
        for field in PASSWORD_FIELDS:
            values.pop(field)
        fields = PASSWORD_FIELDS
    # a token quoted in any text (in practice the mails' links) is replaced by its hash
    for column, value in values.items():
        if isinstance(value, str) and column != "token_sha256":
            values[column], replaced = redacted_text(value, known_tokens)
            if replaced:
                fields, tokens = (*fields, column), tokens + replaced
    if table == "emails":
        parts["derived"] = {
            "recipients": recipients(values["user_list"]),
            "alert_type_equivalent": ALERT_TYPE_EQUIVALENTS.get(values["email_type"]),
        }
    if table in ("bulk_delete_jobs", "emails"):
        parts["relations"] = {join.relation: [] for join in JOINS if join.parent_table == table}
    if table == "bulk_delete_jobs":
        parts["derived"] = {"institution_identifier": identifiers.get("institutions", {}).get(values["institution_id"])}
    return _document(table, row["id"], fields=fields, tokens=tokens, row=values, **parts)
