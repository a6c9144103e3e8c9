"""APTrust registry: the 14 legacy Pharos tables kept as JSON documents, then dropped after a person approves.

Registry `aptrust_registry`; files to Variable `aptrust_legacy_archive_location` (a directory,
or `s3://bucket/prefix` through `aws_default`). docs/aptrust-legacy-archive.md has the design.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param

from include.common.variables import variable_or_default
from preservation_pipelines.aptrust.operators.legacy_archive import (
    DropLegacyTablesOperator,
    ExportLegacyPharosOperator,
    LegacyDropApprovalOperator,
    VerifyLegacyArchiveOperator,
)
from preservation_pipelines.common.assets import LEGACY_PHAROS_RECORDS, LEGACY_PHAROS_TABLES
from preservation_pipelines.common.notifiers.failure import TaskFailureNotifier
from preservation_pipelines.common.operators.run_summary import RunSummaryOperator

APPROVAL_TIMEOUT = timedelta(days=7)
SCHEMA = variable_or_default("aptrust_legacy_schema", "public")
LOCATION = variable_or_default("aptrust_legacy_archive_location", "")

with DAG(
    dag_id="aptrust_legacy_pharos_archive",
    schedule=None,  # manual only
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={
        "owner": "aptrust-registry",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": TaskFailureNotifier(recipients_variable="aptrust_alert_to"),
    },
    tags=["aptrust", "registry", "postgres", "s3", "legacy", "approval"],
    params={
        "drop_old_passwords": Param(
            False,
            type="boolean",
            title="Drop old_passwords too",
            description="Also drop the Pharos password history (its hashes are never exported: dropping it "
            "destroys them). Off: the other 13 tables are dropped, old_passwords stays.",
        ),
        "accept_result_sha256": Param(
            None,
            type=["null", "string"],
            pattern="^([0-9a-f]{64})?$",
            title="Accept a changed result (its SHA-256)",
            description="Only after a run refused a changed result: the new result digest from its message. "
            "The new documents then replace the archived ones; the old export is marked superseded.",
        ),
    },
    doc_md=f"""
### APTrust legacy Pharos tables preserved as JSON
Keeps every row of the 14 tables Pharos left in the registry (`bulk_delete_jobs` and its 4
join tables, `confirmation_tokens`, `emails` and its 4 join tables, `old_passwords`,
`snapshots`, `usage_samples`) as one JSON document per legacy entity, its join rows
embedded, then drops the tables once a person approves.

**Trigger** manually (one run at a time). **Touches** `aptrust_registry`: reads the legacy
tables in the schema of Variable `aptrust_legacy_schema` (default `public`) and the
identifiers of `intellectual_objects`, `generic_files`, `institutions`; writes
`legacy_pharos_records`, `legacy_pharos_exports`; drops the legacy tables. Files go to
Variable `aptrust_legacy_archive_location` (`<location>/<digest>/`: the JSON Lines file,
`manifest.json`, `SHA256SUMS`). A table named like a legacy one with other columns is
never read or dropped: the run fails naming it.

**Steps**: `export_legacy_tables` reads all legacy tables in one REPEATABLE READ snapshot,
builds the documents (tokens hashed, password hashes left out), and for a new result
writes the file (write-once, named by the result digest), then the documents and the
export in one transaction. The same result as the export in force writes nothing; a
changed one fails the run saying what changed (trigger again with
`accept_result_sha256` to accept it). `verify_archive` re-reads documents, files and live
tables and fails on any mismatch. `approve_drop` shows the verified figures and waits
(Required Actions) up to {APPROVAL_TIMEOUT.days} days; Reject or no answer drops nothing.
`drop_legacy_tables` locks the tables, recomputes the digest, and drops them (join tables
first; `old_passwords` only with param `drop_old_passwords`) in one transaction,
recording the approver.

**Recovery**: clear or retry any task; every step is idempotent (files write-once, the
export keyed by its digest, a drop already done reports `already dropped`). No backfill:
the DAG has no schedule.
""",
) as aptrust_legacy_pharos_archive:
    export_legacy_tables = ExportLegacyPharosOperator(
        task_id="export_legacy_tables",
        schema=SCHEMA,
        location=LOCATION,
        accept_result_sha256="{{ params.accept_result_sha256 }}",
        drop_old_passwords="{{ params.drop_old_passwords }}",
        inlets=[LEGACY_PHAROS_TABLES],
        outlets=[LEGACY_PHAROS_RECORDS],
    )
    verify_archive = VerifyLegacyArchiveOperator(
        task_id="verify_archive", schema=SCHEMA, location=LOCATION, export=export_legacy_tables.output
    )
    approve_drop = LegacyDropApprovalOperator(
        task_id="approve_drop",
        figures=verify_archive.output,
        response_timeout=APPROVAL_TIMEOUT,
        execution_timeout=timedelta(minutes=5),
    )
    drop_legacy_tables = DropLegacyTablesOperator(
        task_id="drop_legacy_tables",
        schema=SCHEMA,
        location=LOCATION,
        figures=verify_archive.output,
        approval=approve_drop.output,
        outlets=[LEGACY_PHAROS_TABLES],
    )
    run_summary = RunSummaryOperator(
        task_id="run_summary",
        steps={
            "export": "export_legacy_tables",
            "verification": "verify_archive",
            "approval": ("approve_drop", "decision"),
            "drop": "drop_legacy_tables",
        },
        trigger_rule="none_failed",  # a rejected, timed-out or unneeded approval skips the drop: still summarised
    )
    export_legacy_tables >> verify_archive >> approve_drop >> drop_legacy_tables >> run_summary
