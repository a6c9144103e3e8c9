"""What a person reads before approving the drop of the legacy Pharos tables: the verified figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def verified_figures(manifest: Mapping[str, Any], file_uri: str, droppable: list[str]) -> dict[str, Any]:
    """The figures the approval shows, from the verified manifest."""
    tables = manifest["tables"]
    return {
        "digest": manifest["result_sha256"],
        "file": {"uri": file_uri, **{key: manifest["file"][key] for key in ("bytes", "lines", "sha256")}},
        "tables": {
            table: {key: entry[key] for key in ("present", "rows", "documents", "orphans")}
            for table, entry in tables.items()
        },
        "tokens_hashed": tables["confirmation_tokens"]["redactions"],
        "tokens_replaced_in_mails": tables["emails"]["redactions"],
        "password_hashes": tables["old_passwords"]["rows"],
        "droppable": droppable,
    }


def approval_body(figures: Mapping[str, Any]) -> str:
    """Markdown for the Required Actions form."""
    lines = [
        "Every row of the legacy Pharos tables below is kept as a JSON document (registry table "
        "`legacy_pharos_records` and the file), verified just now. **Approve** drops these tables "
        f"({len(figures['droppable'])}): " + ", ".join(f"`{table}`" for table in figures["droppable"]) + ".",
        "",
        "| table | rows | documents | orphans |",
        "|---|---:|---:|---:|",
    ]
    for table, entry in sorted(figures["tables"].items()):
        rows = entry["rows"] if entry["present"] or entry["rows"] else "absent"
        lines.append(f"| `{table}` | {rows} | {entry['documents']} | {entry['orphans']} |")
    drops_history = "old_passwords" in figures["droppable"]
    lines += [
        "",
        f"- Confirmation tokens hashed (SHA-256): {figures['tokens_hashed']}; "
        f"tokens replaced in mail texts: {figures['tokens_replaced_in_mails']}.",
        f"- Password hashes: {figures['password_hashes']}, never exported; "
        + (
            "**approving destroys the password history** (`old_passwords` is dropped)."
            if drops_history
            else "`old_passwords` is kept (the run did not ask to drop it)."
        ),
        f"- File: `{figures['file']['uri']}`, {figures['file']['bytes']} bytes, {figures['file']['lines']} lines, "
        f"SHA-256 `{figures['file']['sha256']}`.",
        f"- Result digest: `{figures['digest']}`. The drop locks the tables and recomputes it first: "
        "if anything changed, nothing is dropped.",
        "",
        "**Reject** (or no answer within the timeout) drops nothing; the documents and the file stay.",
    ]
    return "\n".join(lines)
