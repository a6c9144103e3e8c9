"""The legacy archive's operators against the real registry, files and moto's S3: a table of an
unexpected shape, the legacy data changing between export and approval, the crash points of
the write (table written / file written / export recorded), a tampered archive."""

from __future__ import annotations

import pytest

from devstack.demo_seed_aptrust import LEGACY_SCHEMA
from tests.include.aptrust.fixtures import legacy_registry, registry, rows  # noqa: F401 - fixtures

RUN_ID = "manual__test"


@pytest.fixture
def archive(legacy_registry):  # noqa: F811
    legacy_registry.connection.execute("TRUNCATE legacy_pharos_records, legacy_pharos_exports")
    return legacy_registry


def _export(location, **kwargs):
    from preservation_pipelines.aptrust.operators.legacy_archive import ExportLegacyPharosOperator

    operator = ExportLegacyPharosOperator(task_id="export", schema=LEGACY_SCHEMA, location=str(location), **kwargs)
    return operator.execute({"run_id": RUN_ID})


def _verify(location, export):
    from preservation_pipelines.aptrust.operators.legacy_archive import VerifyLegacyArchiveOperator

    operator = VerifyLegacyArchiveOperator(
        task_id="verify", schema=LEGACY_SCHEMA, location=str(location), export=export
    )
    return operator.execute({"run_id": RUN_ID})


def _drop(location, figures, approver="approver@demo.edu"):
    from preservation_pipelines.aptrust.operators.legacy_archive import DropLegacyTablesOperator

    operator = DropLegacyTablesOperator(
        task_id="drop",
        schema=LEGACY_SCHEMA,
        location=str(location),
        figures=figures,
        approval={"responded_by_user": {"name": approver}},
    )
    return operator.execute({"run_id": RUN_ID})


def _tables(registry) -> int:  # noqa: F811
    found = rows(
        registry,
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = %(schema)s",
        {"schema": LEGACY_SCHEMA},
    )
    return found[0]["n"]


def _fails(call, *args):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException) as failure:
        call(*args)
    return str(failure.value)


def test_a_legacy_named_table_of_another_shape_is_named_and_nothing_is_read_or_written(archive, tmp_path):
    archive.connection.execute(f"ALTER TABLE {LEGACY_SCHEMA}.snapshots ADD COLUMN region varchar")
    try:
        message = _fails(_export, tmp_path)
        assert "snapshots (missing none, unexpected ['region'])" in message
        assert list(tmp_path.iterdir()) == [] and rows(archive, "SELECT * FROM legacy_pharos_exports") == []
    finally:
        archive.connection.execute(f"ALTER TABLE {LEGACY_SCHEMA}.snapshots DROP COLUMN region")


def test_the_dags_own_tables_of_legacy_names_are_refused_and_others_never_touched(archive, tmp_path):
    """A schema like a registry of today: the DAGs' own emails and bulk_delete_jobs, Rails' tables."""
    from preservation_pipelines.aptrust.operators.legacy_archive import ExportLegacyPharosOperator

    archive.connection.execute("DROP SCHEMA IF EXISTS decoy CASCADE")
    archive.connection.execute(
        "CREATE SCHEMA decoy; "
        "CREATE TABLE decoy.emails (id bigserial PRIMARY KEY, subject text, body text); "
        "CREATE TABLE decoy.bulk_delete_jobs (id bigserial PRIMARY KEY, dag_run_id text, requested_by text); "
        "CREATE TABLE decoy.schema_migrations (version varchar PRIMARY KEY); "
        "INSERT INTO decoy.schema_migrations VALUES ('20240101000000')"
    )
    try:
        operator = ExportLegacyPharosOperator(task_id="export", schema="decoy", location=str(tmp_path))
        message = _fails(operator.execute, {"run_id": RUN_ID})
        assert "bulk_delete_jobs (missing" in message and "unexpected ['dag_run_id']" in message
        assert "emails (missing" in message and "unexpected ['body', 'subject']" in message
        assert "schema_migrations" not in message and list(tmp_path.iterdir()) == []
        assert rows(archive, "SELECT version FROM decoy.schema_migrations") == [{"version": "20240101000000"}]
    finally:
        archive.connection.execute("DROP SCHEMA decoy CASCADE")


def test_an_absent_legacy_table_counts_as_zero_rows(archive, tmp_path):
    archive.connection.execute(f"DROP TABLE {LEGACY_SCHEMA}.usage_samples")
    export = _export(tmp_path)
    figures = _verify(tmp_path, export)
    assert figures["tables"]["usage_samples"] == {"present": False, "rows": 0, "documents": 0, "orphans": 0}
    assert "usage_samples" not in figures["droppable"]


def test_a_change_between_export_and_approval_drops_nothing_and_says_what(archive, tmp_path):
    figures = _verify(tmp_path, _export(tmp_path))
    archive.connection.execute(f"INSERT INTO {LEGACY_SCHEMA}.emails_work_items VALUES (NULL, 999)")

    message = _fails(_drop, tmp_path, figures)

    assert "nothing dropped" in message and "emails_work_items: 3 -> 4 rows" in message
    assert "documents added: 1: emails_work_items/0" in message  # the new row has no parent: an orphan
    assert _tables(archive) == 14
    assert rows(archive, "SELECT dropped_at FROM legacy_pharos_exports") == [{"dropped_at": None}]


def test_orphaned_join_rows_get_one_document_per_join_table(archive, tmp_path):
    archive.connection.execute(
        f"INSERT INTO {LEGACY_SCHEMA}.emails_work_items VALUES (5, NULL), (5, 12345), (6, 12345)"
    )
    archive.connection.execute(f"INSERT INTO {LEGACY_SCHEMA}.bulk_delete_jobs_emails VALUES (77, 1)")
    export = _export(tmp_path)
    figures = _verify(tmp_path, export)
    assert figures["tables"]["emails_work_items"]["orphans"] == 3
    assert figures["tables"]["bulk_delete_jobs_emails"]["orphans"] == 1
    [orphans] = rows(archive, "SELECT document FROM legacy_pharos_records WHERE legacy_table = 'emails_work_items'")
    assert orphans["document"]["orphans"] == [
        {"email_id": 12345, "work_item_id": 5},
        {"email_id": 12345, "work_item_id": 6},
        {"email_id": None, "work_item_id": 5},
    ]


def test_crash_after_the_file_is_written_then_in_the_recording_transaction(archive, tmp_path, monkeypatch):
    from preservation_pipelines.aptrust.hooks.legacy_archive import LegacyArchiveHook

    # file written, nothing recorded: the retry keeps the file and records
    monkeypatch.setattr(LegacyArchiveHook, "record_export", _crash)
    with pytest.raises(_Crash):
        _export(tmp_path)
    [folder] = list(tmp_path.iterdir())
    written = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    assert len(written) == 3 and rows(archive, "SELECT * FROM legacy_pharos_records") == []
    monkeypatch.undo()

    # the documents written inside the recording transaction, then a crash: rolled back whole
    monkeypatch.setattr("include.aptrust.legacy_archive_sql.SUPERSEDE_EXPORTS", "SELECT 1/0")
    with pytest.raises(Exception, match="division by zero"):
        _export(tmp_path)
    assert rows(archive, "SELECT * FROM legacy_pharos_records") == []
    assert rows(archive, "SELECT * FROM legacy_pharos_exports") == []
    monkeypatch.undo()

    export = _export(tmp_path)
    assert export["outcome"] == "exported" and export["digest"] == folder.name
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == written  # left as they were
    _verify(tmp_path, export)

    # export recorded, the task died before returning: the retry writes nothing
    assert _export(tmp_path)["outcome"] == "unchanged"
    assert len(rows(archive, "SELECT * FROM legacy_pharos_exports")) == 1
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == written

    # a file of the export in force lost: written again, the same bytes, and said
    sums = (folder / "SHA256SUMS").read_bytes()
    (folder / "SHA256SUMS").unlink()
    again = _export(tmp_path)
    assert (again["outcome"], again["restored_files"]) == ("unchanged", ["SHA256SUMS"])
    assert (folder / "SHA256SUMS").read_bytes() == sums


def test_a_tampered_archive_fails_verification_naming_what(archive, tmp_path):
    export = _export(tmp_path)
    archive.connection.execute(
        "UPDATE legacy_pharos_records SET document = jsonb_set(document, '{row,note}', '\"edited\"') "
        "WHERE legacy_table = 'bulk_delete_jobs' AND legacy_id = 1"
    )
    message = _fails(_verify, tmp_path, export)
    assert "bulk_delete_jobs/1: stored sha256 differs" in message
    assert "bulk_delete_jobs/1: its line in the file differs" not in message

    archive.connection.execute(f"DELETE FROM {LEGACY_SCHEMA}.snapshots WHERE id = 2")
    message = _fails(_verify, tmp_path, export)
    assert "snapshots: 5 rows in the table, 6 in the documents, 6 in the manifest" in message


def test_a_file_of_that_name_with_other_content_is_never_overwritten(archive, tmp_path):
    from preservation_pipelines.aptrust.hooks.archive_location import ArchiveLocation, WriteOnceConflict

    location = ArchiveLocation(str(tmp_path))
    assert location.write_once("a.txt", b"one") and not location.write_once("a.txt", b"one")
    with pytest.raises(WriteOnceConflict, match="never overwritten"):
        location.write_once("a.txt", b"two")
    assert (tmp_path / "a.txt").read_bytes() == b"one"


def test_the_export_goes_to_s3_write_once_and_verifies(archive, moto):
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # pragma: allowlist secret
    )
    s3.create_bucket(Bucket="legacy-archive-test")
    location = "s3://legacy-archive-test/registry/pharos"

    export = _export(location)
    figures = _verify(location, export)
    digest = export["digest"]
    listed = s3.list_objects_v2(Bucket="legacy-archive-test", Prefix=f"registry/pharos/{digest}/")
    assert sorted(item["Key"].rsplit("/", 1)[1] for item in listed["Contents"]) == [
        "SHA256SUMS",
        f"legacy_pharos_{digest}.jsonl",
        "manifest.json",
    ]
    assert figures["file"]["uri"] == f"{location}/{digest}/legacy_pharos_{digest}.jsonl"
    archive.connection.execute("TRUNCATE legacy_pharos_records, legacy_pharos_exports")
    assert _export(location)["outcome"] == "exported"  # same objects found, left as they are


class _Crash(Exception):
    pass


def _crash(*args, **kwargs):
    raise _Crash("the worker died here")


def test_after_a_drop_the_archived_documents_stand_for_the_dropped_tables(archive, tmp_path):
    export = _export(tmp_path)
    dropped = _drop(tmp_path, _verify(tmp_path, export))["dropped"]
    assert len(dropped) == 13 and _tables(archive) == 1
    assert _drop(tmp_path, _verify(tmp_path, export))["already_dropped"] == dropped  # a retry: a no-op

    # the kept password history changes: refused, then accepted; the dropped tables stay archived
    archive.connection.execute(f"DELETE FROM {LEGACY_SCHEMA}.old_passwords WHERE id = 4")
    message = _fails(_export, tmp_path)
    assert "old_passwords: 4 -> 3 rows" in message and "documents removed: 1: old_passwords/4" in message
    new_digest = message.rsplit("accept_result_sha256 = ", 1)[1].strip()
    accepted = _export(tmp_path, accept_result_sha256=new_digest)
    assert accepted["outcome"] == "replaced" and accepted["tables_archived_before"] == sorted(dropped)
    figures = _verify(tmp_path, accepted)
    assert figures["tables"]["emails"] == {"present": False, "rows": 7, "documents": 7, "orphans": 0}
    assert _export(tmp_path)["outcome"] == "unchanged"
    [current] = rows(archive, "SELECT dropped_tables FROM legacy_pharos_exports WHERE superseded_by IS NULL")
    assert sorted(current["dropped_tables"]) == sorted(dropped)


def test_the_legacy_tables_are_read_in_one_repeatable_read_snapshot(archive):
    from preservation_pipelines.aptrust.hooks.legacy_archive import LegacyArchiveHook

    with LegacyArchiveHook().snapshot() as cursor:
        cursor.execute("SHOW transaction_isolation")
        assert cursor.fetchone()[0] == "repeatable read"
        cursor.execute(f"SELECT count(*) FROM {LEGACY_SCHEMA}.snapshots")
        before = cursor.fetchone()[0]
        archive.connection.execute(f"DELETE FROM {LEGACY_SCHEMA}.snapshots")  # another session commits
        cursor.execute(f"SELECT count(*) FROM {LEGACY_SCHEMA}.snapshots")
        assert cursor.fetchone()[0] == before == 6
