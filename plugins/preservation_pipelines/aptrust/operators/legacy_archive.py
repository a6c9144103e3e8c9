"""The legacy Pharos archive: export the legacy tables as documents, verify, approve, drop.

The documents, digests and checks are ``include.aptrust.legacy_archive*``; the registry
side is ``LegacyArchiveHook``, the files ``ArchiveLocation``.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from preservation_pipelines.aptrust.operators.approval import DecisionRecordingApprovalOperator
from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator

if TYPE_CHECKING:
    from preservation_pipelines.aptrust.hooks.archive_location import ArchiveLocation
    from preservation_pipelines.aptrust.hooks.legacy_archive import LegacyArchiveHook


class _LegacyArchiveOperator(AptrustBaseOperator):
    """Base of the archive's operators: the registry as ``LegacyArchiveHook``, the legacy schema,
    the export location (``aws_conn_id`` for an S3 one; default the S3Hook's)."""

    template_fields = ("schema", "location")

    def __init__(self, *, schema: str, location: str, aws_conn_id: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.schema = schema
        self.location = location
        self.aws_conn_id = aws_conn_id

    @cached_property
    def archive(self) -> LegacyArchiveHook:
        from preservation_pipelines.aptrust.hooks.legacy_archive import LegacyArchiveHook

        return LegacyArchiveHook(self.registry_conn_id or LegacyArchiveHook.default_conn_name)

    def files(self, digest: str) -> ArchiveLocation:
        """The export's folder: ``<location>/<digest>/`` holds the JSON Lines file, manifest.json, SHA256SUMS."""
        from preservation_pipelines.aptrust.hooks.archive_location import ArchiveLocation

        try:
            return ArchiveLocation(ArchiveLocation(self.location, self.aws_conn_id).uri(digest), self.aws_conn_id)
        except ValueError as error:
            raise AirflowFailException(f"Variable aptrust_legacy_archive_location: {error}") from error

    @property
    def checked_schema(self) -> str:
        from include.aptrust.legacy_archive_sql import schema_name

        try:
            return schema_name(self.schema)
        except ValueError as error:
            raise AirflowFailException(str(error)) from error

    @staticmethod
    def dropped_by(export: dict[str, Any] | None) -> list[str]:
        """The tables an approved drop of ``export`` (the export in force) removed."""
        return list(export["dropped_tables"] or []) if export else []


class ExportLegacyPharosOperator(_LegacyArchiveOperator):
    """Read the legacy tables in one snapshot, build their documents, and (new or accepted result only)
    write the file, manifest and SHA256SUMS, then the documents and the export in one transaction.

    The same result as the export in force writes nothing; another result is refused (the
    task fails, no retry) saying what changed, unless ``accept_result_sha256`` is its digest.
    """

    template_fields = (*_LegacyArchiveOperator.template_fields, "accept_result_sha256", "drop_old_passwords")

    def __init__(self, *, accept_result_sha256: str | None = None, drop_old_passwords: Any = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.accept_result_sha256 = accept_result_sha256
        self.drop_old_passwords = drop_old_passwords

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.legacy_archive import UnexpectedShape
        from include.aptrust.legacy_archive_result import droppable_tables, what_changed

        export = self.archive.current_export()
        try:
            content = self.archive.read_legacy(self.checked_schema, self.dropped_by(export))
        except UnexpectedShape as error:
            raise AirflowFailException(str(error)) from error
        result = content.result
        digest = result.digest
        manifest = result.manifest(content.read)
        restored: list[str] = []
        if export is not None and export["digest"] == digest:
            outcome = "unchanged"
            # the same content under the same names (the manifest as recorded: which tables are
            # present changes after a drop): only a lost file is written again, and said
            manifest = export["manifest"]
            restored = self._write_files(digest, result, manifest)
            for name in restored:
                self.log.warning("the export in force had lost %s: written again from the same documents", name)
        elif export is not None and (self.accept_result_sha256 or None) != digest:
            old_rows = {table: entry["rows"] for table, entry in export["manifest"]["tables"].items()}
            accepted = self.accept_result_sha256
            raise AirflowFailException(
                f"the legacy tables no longer give the export in force {export['digest']} but {digest}"
                + (f" (accept_result_sha256 {accepted} is not it)" if accepted else "")
                + ":\n"
                + "\n".join(what_changed(old_rows, result, self.archive.record_digests()))
                + f"\nTo accept this result, trigger again with accept_result_sha256 = {digest}"
            )
        else:
            self._write_files(digest, result, manifest)
            self.archive.record_export(content, manifest, context["run_id"])
            outcome = "replaced" if export is not None else "exported"
        summary = {
            "digest": digest,
            "outcome": outcome,
            "superseded": export["digest"] if export is not None and outcome == "replaced" else None,
            "restored_files": restored,
            "documents": len(result.lines),
            "rows": sum(result.rows.values()),
            "tables_read": content.read,
            "tables_archived_before": content.archived,
            # only an explicit yes drops the password history (a rendered "False" is no yes)
            "droppable": droppable_tables(content.read, str(self.drop_old_passwords).lower() == "true"),
        }
        self.log.info("export: %s", summary)
        return summary

    def _write_files(self, digest: str, result, manifest: dict[str, Any]) -> list[str]:
        """Write-once, the JSON Lines file first: the manifest and SHA256SUMS only describe a written file.

        Returns the names written (a file already there with the same content is left)."""
        from include.aptrust.legacy_archive_result import (
            MANIFEST_NAME,
            SUMS_NAME,
            file_name,
            manifest_bytes,
            sha256sums,
        )

        files = self.files(digest)
        content = result.content
        described = {file_name(digest): content, MANIFEST_NAME: manifest_bytes(manifest)}
        written = []
        for name, data in (*described.items(), (SUMS_NAME, sha256sums(described))):
            if files.write_once(name, data):
                written.append(name)
            self.log.info("%s %s (%d bytes)", "wrote" if name in written else "kept", files.uri(name), len(data))
        return written


class VerifyLegacyArchiveOperator(_LegacyArchiveOperator):
    """Re-read the registry's documents, the files and the live tables; fail on any mismatch.

    Returns the figures the approval shows.
    """

    template_fields = (*_LegacyArchiveOperator.template_fields, "export")

    def __init__(self, *, export: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.export = export

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.legacy_archive_approval import verified_figures
        from include.aptrust.legacy_archive_result import (
            MANIFEST_NAME,
            SUMS_NAME,
            StoredExport,
            file_name,
            verification_problems,
        )

        digest = self.export["digest"]
        files = self.files(digest)
        content = {name: files.read(name) for name in (file_name(digest), MANIFEST_NAME, SUMS_NAME)}
        missing = [files.uri(name) for name, data in content.items() if data is None]
        if missing:
            raise AirflowFailException(f"verification failed: missing {', '.join(missing)}")
        schema = self.checked_schema
        legacy = self.archive.read_legacy(schema, self.dropped_by(self.archive.current_export()))
        live_rows, live_ids = self.archive.live_figures(schema, legacy.read)
        stored = StoredExport(
            documents=self.archive.stored_documents(),
            file=content[file_name(digest)],
            manifest=content[MANIFEST_NAME],
            sums=content[SUMS_NAME],
            live_rows=live_rows,
            live_ids=live_ids,
            known_tokens=legacy.known_tokens,
        )
        del legacy
        problems = verification_problems(stored, digest)
        if problems:
            raise AirflowFailException(f"verification of {digest} failed:\n" + "\n".join(problems))
        figures = verified_figures(json.loads(stored.manifest), files.uri(file_name(digest)), self.export["droppable"])
        self.log.info("verified %s: %s", digest, figures)
        return figures


class LegacyDropApprovalOperator(DecisionRecordingApprovalOperator):
    """Ask a person to approve the drop, showing the verified figures; skipped when nothing is left to drop."""

    template_fields = (*ApprovalOperator.template_fields, "figures")

    def __init__(self, *, figures: Any, **kwargs) -> None:
        kwargs.setdefault("subject", "Drop the legacy Pharos tables?")
        super().__init__(**kwargs)
        self.figures = figures

    def execute(self, context):
        from include.aptrust.legacy_archive_approval import approval_body

        if not self.figures["droppable"]:
            raise AirflowSkipException(f"already dropped: nothing left to drop for export {self.figures['digest']}")
        self.subject = f"Drop {len(self.figures['droppable'])} legacy Pharos table(s)?"
        self.body = approval_body(self.figures)
        return super().execute(context)


class DropLegacyTablesOperator(_LegacyArchiveOperator):
    """After approval, in one transaction: lock, recompute the digest, drop (join tables first), record who.

    A changed result drops nothing and fails saying what changed; a retry after the drop reports
    ``already dropped``.
    """

    template_fields = (*_LegacyArchiveOperator.template_fields, "figures", "approval")

    def __init__(self, *, figures: Any, approval: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.figures = figures
        self.approval = approval

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.aptrust.hooks.legacy_archive import ApprovedResultChanged

        digest, wanted = self.figures["digest"], self.figures["droppable"]
        left = [table for table in wanted if table not in self.dropped_by(self.archive.current_export())]
        if not left:
            self.log.info("already dropped: %s", wanted)
            return {"digest": digest, "dropped": [], "already_dropped": wanted}
        approval = self.approval or {}
        approver = (approval.get("responded_by_user") or {}).get("name")
        try:
            dropped = self.archive.drop_legacy_tables(
                self.checked_schema,
                digest=digest,
                drop=left,
                approved_by=approver,
                approved_at=approval.get("responded_at"),
            )
        except ApprovedResultChanged as error:
            raise AirflowFailException(str(error)) from error
        self.log.info("dropped %s (approved by %s)", dropped, approver)
        return {"digest": digest, "dropped": dropped, "approved_by": approver, "already_dropped": []}
