"""The legacy Pharos archive's result: canonical lines, digests, manifest, what changed, verification.

The result is the JSON Lines file of the canonical documents sorted by (legacy_table,
legacy_id); its SHA-256 is the **result digest**, which names the file and the export.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from include.aptrust.legacy_archive import ENTITY_COLUMNS, JOIN_TABLES, LEGACY_TABLES, PASSWORD_FIELDS

MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
SHOWN_KEYS = 50
PLAINTEXT_TOKEN = re.compile(r"confirmation_token=[0-9a-f]{32}", re.IGNORECASE)


def canonical(document: Mapping[str, Any]) -> str:
    """UTF-8 JSON, sorted keys, no insignificant whitespace."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_key(document: Mapping[str, Any]) -> str:
    return f"{document['legacy_table']}/{document['legacy_id']}"


def file_name(digest: str) -> str:
    return f"legacy_pharos_{digest}.jsonl"


@dataclass
class ArchiveResult:
    """The canonical lines of sorted documents and what they account for."""

    lines: list[str]
    digests: dict[str, str]  # document key -> SHA-256 of its canonical line
    rows: dict[str, int]  # legacy table -> rows accounted for
    documents: dict[str, int]
    orphans: dict[str, int]
    redactions: dict[str, int]

    @classmethod
    def of(cls, documents: Iterable[Mapping[str, Any]]) -> ArchiveResult:
        result = cls([], {}, dict.fromkeys(LEGACY_TABLES, 0), dict.fromkeys(LEGACY_TABLES, 0), {}, {})
        for document in documents:
            line = canonical(document)
            result.lines.append(line)
            result.digests[document_key(document)] = sha256_of(line.encode())
            table = document["legacy_table"]
            result.documents[table] += 1
            for counted, rows in document["rows"].items():
                result.rows[counted] += rows
            if "orphans" in document:
                result.orphans[table] = len(document["orphans"])
            # a text's replaced tokens, else the fields hashed or dropped whole
            redacted = document["redacted"]["tokens_replaced"] or len(document["redacted"]["fields"])
            if redacted:
                result.redactions[table] = result.redactions.get(table, 0) + redacted
        return result

    @property
    def content(self) -> bytes:
        return "".join(f"{line}\n" for line in self.lines).encode()

    @property
    def digest(self) -> str:
        return sha256_of(self.content)

    def manifest(self, present: Iterable[str]) -> dict[str, Any]:
        present = set(present)
        content = self.content
        digest = sha256_of(content)
        return {
            "result_sha256": digest,
            "file": {"name": file_name(digest), "bytes": len(content), "lines": len(self.lines), "sha256": digest},
            "tables": {
                table: {
                    "present": table in present,
                    "rows": self.rows[table],
                    "documents": self.documents[table],
                    "orphans": self.orphans.get(table, 0),
                    "redactions": self.redactions.get(table, 0),
                }
                for table in LEGACY_TABLES
            },
        }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode()


def sha256sums(files: Mapping[str, bytes]) -> bytes:
    """``sha256sum -c`` input for ``{name: content}``."""
    return "".join(f"{sha256_of(content)}  {name}\n" for name, content in sorted(files.items())).encode()


def what_changed(old_rows: Mapping[str, int], new: ArchiveResult, old_digests: Mapping[str, str]) -> list[str]:
    """Rows per table old -> new, documents added, removed and changed (counts, first SHOWN_KEYS keys)."""
    lines = [
        f"{table}: {old_rows.get(table, 0)} -> {new.rows[table]} rows"
        for table in LEGACY_TABLES
        if old_rows.get(table, 0) != new.rows[table]
    ]
    kinds = {
        "added": sorted(new.digests.keys() - old_digests.keys()),
        "removed": sorted(old_digests.keys() - new.digests.keys()),
        "changed": sorted(
            key for key in new.digests.keys() & old_digests.keys() if new.digests[key] != old_digests[key]
        ),
    }
    for kind, keys in kinds.items():
        if keys:
            more = f" (first {SHOWN_KEYS})" if len(keys) > SHOWN_KEYS else ""
            lines.append(f"documents {kind}: {len(keys)}{more}: {', '.join(keys[:SHOWN_KEYS])}")
    return lines


def secrets_in(text: str, known_tokens: Iterable[str]) -> list[str]:
    """Why ``text`` (a document or the file) holds a secret in clear; empty when it does not."""
    found = []
    if PLAINTEXT_TOKEN.search(text):
        found.append("a plaintext confirmation_token")
    found += [f'a "{field}" key' for field in PASSWORD_FIELDS if f'"{field}":' in text]
    if any(token and token in text for token in known_tokens):
        found.append("a confirmation token in clear")
    return found


@dataclass
class StoredExport:
    """What verification re-reads: the registry's documents, the files at the location, the live tables."""

    documents: list[tuple[str, str, Mapping[str, Any]]]  # (key, stored sha256, document as re-read from jsonb)
    file: bytes
    manifest: bytes
    sums: bytes
    live_rows: dict[str, int]  # legacy tables present now -> count(*)
    live_ids: dict[str, set[int]]  # entity tables present now -> their ids
    known_tokens: list[str]


def verification_problems(stored: StoredExport, digest: str) -> list[str]:
    """Every mismatch between the registry's documents, the files, the manifest and the live tables."""
    problems: list[str] = []
    manifest = json.loads(stored.manifest)
    name = file_name(digest)
    file_sha = sha256_of(stored.file)
    sums = dict(reversed(line.split("  ", 1)) for line in stored.sums.decode().splitlines() if "  " in line)
    for what, value in {
        "file": file_sha,
        "manifest result_sha256": manifest["result_sha256"],
        "manifest file sha256": manifest["file"]["sha256"],
        f"{SUMS_NAME} {name}": sums.get(name),
    }.items():
        if value != digest:
            problems.append(f"{what}: {value} is not the result digest {digest}")
    if sums.get(MANIFEST_NAME) != sha256_of(stored.manifest):
        problems.append(f"{SUMS_NAME}: {MANIFEST_NAME}'s checksum does not match the file")
    file_lines = stored.file.split(b"\n")  # only LF ends a line: a value may hold U+0085 or U+2028
    if file_lines[-1] == b"":
        file_lines.pop()
    if manifest["file"]["lines"] != len(file_lines) or manifest["file"]["bytes"] != len(stored.file):
        problems.append("manifest: lines or bytes differ from the file")
    in_file = {}
    for number, line in enumerate(file_lines, 1):
        try:
            in_file[document_key(json.loads(line))] = sha256_of(line)
        except (ValueError, KeyError, TypeError):
            problems.append(f"the file's line {number} is not a document")
    in_registry = {}
    rows_in_documents = dict.fromkeys(LEGACY_TABLES, 0)
    ids_in_documents: dict[str, set[int]] = {table: set() for table in ENTITY_COLUMNS}
    for key, stored_sha, document in stored.documents:
        line = canonical(document)
        in_registry[key] = stored_sha
        if stored_sha != sha256_of(line.encode()):
            problems.append(f"{key}: stored sha256 differs from its document's canonical form")
        if in_file.get(key) != stored_sha:
            problems.append(f"{key}: its line in the file differs from the registry's document (or is missing)")
        problems += [f"{key}: {secret}" for secret in secrets_in(line, stored.known_tokens)]
        for table, rows in document["rows"].items():
            rows_in_documents[table] += rows
        if document["legacy_table"] in ENTITY_COLUMNS:
            ids_in_documents[document["legacy_table"]].add(document["legacy_id"])
    problems += [f"{key}: in the file, not in the registry" for key in sorted(in_file.keys() - in_registry.keys())]
    problems += [
        f"the file: {secret}" for secret in secrets_in(stored.file.decode(errors="replace"), stored.known_tokens)
    ]
    for table in LEGACY_TABLES:
        expected = manifest["tables"][table]["rows"]
        live = stored.live_rows.get(table)
        if rows_in_documents[table] != expected or (live is not None and live != expected):
            problems.append(
                f"{table}: {live if live is not None else 'absent'} rows in the table, "
                f"{rows_in_documents[table]} in the documents, {expected} in the manifest"
            )
    for table, ids in stored.live_ids.items():
        if ids != ids_in_documents[table]:
            problems.append(f"{table}: ids without exactly one document: {sorted(ids ^ ids_in_documents[table])[:50]}")
    return problems


def droppable_tables(present: Iterable[str], drop_old_passwords: bool) -> list[str]:
    """The tables an approved drop removes, join tables first (``old_passwords`` only when asked)."""
    present = set(present)
    joins = [table for table in JOIN_TABLES if table in present]
    entities = [
        table for table in ENTITY_COLUMNS if table in present and (drop_old_passwords or table != "old_passwords")
    ]
    return joins + entities
