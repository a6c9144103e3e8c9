"""aptrust_legacy_pharos_archive end to end on the demo's legacy rows: export, verify, approval
answered as the Required Actions UI does, drop; idempotence, a changed result, faults."""

from __future__ import annotations

import json
import subprocess

import pytest

from devstack.demo import answer_in_background
from devstack.demo_seed_aptrust import DEMO_APPROVER, LEGACY_SCHEMA, approve_pending
from devstack.settings import REPO_ROOT
from tests.dags.helpers import task_states, xcom_return
from tests.include.aptrust.fixtures import legacy_registry, mailbox, registry, rows  # noqa: F401 - fixtures

DAG_ID = "aptrust_legacy_pharos_archive"
APPROVER = DEMO_APPROVER
DEMO_ROWS = 49  # the demo's legacy rows over the 14 tables (docs/aptrust.md)


@pytest.fixture
def archive(legacy_registry, tmp_path, monkeypatch):  # noqa: F811
    """The demo registry with its legacy rows, no export recorded, files to a fresh directory."""
    legacy_registry.connection.execute("TRUNCATE legacy_pharos_records, legacy_pharos_exports")
    monkeypatch.setenv("AIRFLOW_VAR_APTRUST_LEGACY_SCHEMA", LEGACY_SCHEMA)
    monkeypatch.setenv("AIRFLOW_VAR_APTRUST_LEGACY_ARCHIVE_LOCATION", str(tmp_path))
    return legacy_registry


def _legacy_tables(registry) -> list[str]:  # noqa: F811
    found = rows(
        registry,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %(schema)s ORDER BY 1",
        {"schema": LEGACY_SCHEMA},
    )
    return [row["table_name"] for row in found]


def _dag():
    """The DAG, loaded from its own file (another DAG file's import error does not stop it)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / f"{DAG_ID}.py"))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def _run(answer=None, **conf):
    """One run (``dag.test()``) of the DAG; ``answer`` answers the approval from another thread."""
    responder = answer_in_background(answer) if answer else None
    dag_run = _dag().test(run_conf=conf)
    if responder:
        responder.join(timeout=5)
    return dag_run


def _approval_form(dag_run):
    """What the Required Actions form showed and how it was answered (the HITL detail's fields)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        detail = (
            session.query(HITLDetail)
            .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .filter(TaskInstance.run_id == dag_run.run_id, TaskInstance.task_id == "approve_drop")
            .one()
        )
        return detail.subject, detail.body, detail.defaults, detail.responded_at


def _rejecting():
    return _run(lambda: approve_pending(DAG_ID, "approve_drop", APPROVER, chosen="Reject"))


def test_approved_export_is_verified_and_drops_the_legacy_tables_but_old_passwords(
    airflow_db, archive, tmp_path, mailbox
):  # noqa: F811
    dag_run = _run(lambda: approve_pending(DAG_ID, "approve_drop", APPROVER))

    assert str(dag_run.state) == "success", task_states(dag_run)
    export = xcom_return(dag_run, "export_legacy_tables")
    digest = export["digest"]
    assert export["outcome"] == "exported" and export["rows"] == DEMO_ROWS
    folder = tmp_path / digest
    assert sorted(path.name for path in folder.iterdir()) == [
        "SHA256SUMS",
        f"legacy_pharos_{digest}.jsonl",
        "manifest.json",
    ]
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=folder, check=True)
    text = (folder / f"legacy_pharos_{digest}.jsonl").read_text()
    assert "confirmation_token=sha256:" in text and "0" * 31 + "1" not in text and "FAKE.DEMO.HASH" not in text
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tables"]["bulk_delete_jobs_institutions"] == {
        "present": True, "rows": 3, "documents": 0, "orphans": 0, "redactions": 0
    }  # fmt: skip
    [recorded] = rows(archive, "SELECT * FROM legacy_pharos_exports")
    assert (recorded["digest"], recorded["approved_by"]) == (digest, APPROVER)
    assert recorded["approved_at"] == _approval_form(dag_run)[3] and recorded["dropped_at"] >= recorded["approved_at"]
    assert _legacy_tables(archive) == ["old_passwords"]
    stored = rows(archive, "SELECT document FROM legacy_pharos_records WHERE legacy_table = 'bulk_delete_jobs'")
    job = next(r["document"] for r in stored if r["document"]["derived"]["institution_identifier"] == "demo.edu")
    assert [link["institution_id"] for link in job["relations"]["institutions"]] == [1, 1]  # the doubled link kept
    assert {o["identifier"] for o in job["relations"]["intellectual_objects"]} == {
        "demo.edu/old-bag-0",
        "demo.edu/old-bag-1",
    }
    summary = xcom_return(dag_run, "run_summary")
    figures = summary["verification"]
    assert (figures["tokens_hashed"], figures["tokens_replaced_in_mails"], figures["password_hashes"]) == (3, 3, 4)
    assert (figures["file"]["lines"], figures["file"]["bytes"]) == (26, len(text.encode()))
    assert summary["approval"] == {"chosen": "Approve", "by": APPROVER, "timed_out": False}
    assert len(summary["drop"]["dropped"]) == 13

    # a second run: the same result (archived documents for the dropped tables), nothing written,
    # re-verified; old_passwords dropped now that the run asks for it
    again = _run(lambda: approve_pending(DAG_ID, "approve_drop", APPROVER), drop_old_passwords=True)
    assert str(again.state) == "success", task_states(again)
    assert xcom_return(again, "export_legacy_tables")["outcome"] == "unchanged"
    assert xcom_return(again, "drop_legacy_tables")["dropped"] == ["old_passwords"]
    assert _legacy_tables(archive) == []

    # and a third: nothing left to drop, no approval asked
    third = _run()
    assert str(third.state) == "success", task_states(third)
    assert task_states(third)["approve_drop"] == "skipped"
    assert xcom_return(third, "export_legacy_tables")["digest"] == digest


def test_rejection_drops_nothing_and_a_changed_result_is_refused_until_accepted(airflow_db, archive, tmp_path):  # noqa: F811
    first = _rejecting()
    assert str(first.state) == "success", task_states(first)
    digest = xcom_return(first, "export_legacy_tables")["digest"]
    assert len(_legacy_tables(archive)) == 14
    subject, body, defaults, _ = _approval_form(first)
    assert subject == "Drop 13 legacy Pharos table(s)?" and defaults == ["Reject"]
    assert f"Result digest: `{digest}`" in body and f"/{digest}/legacy_pharos_{digest}.jsonl" in body
    assert "| `emails_work_items` | 3 | 0 | 0 |" in body and "| `emails` | 7 | 7 | 0 |" in body
    assert "Confirmation tokens hashed (SHA-256): 3; tokens replaced in mail texts: 3." in body
    assert "Password hashes: 4, never exported; `old_passwords` is kept" in body
    assert rows(archive, "SELECT dropped_at FROM legacy_pharos_exports") == [{"dropped_at": None}]

    archive.connection.execute(f"UPDATE {LEGACY_SCHEMA}.snapshots SET cost = 99 WHERE id = 1")
    archive.connection.execute(f"DELETE FROM {LEGACY_SCHEMA}.usage_samples WHERE id = 4")
    refused = _run()
    assert str(refused.state) == "failed"
    assert task_states(refused)["export_legacy_tables"] == "failed"
    [export] = rows(archive, "SELECT digest, superseded_by FROM legacy_pharos_exports")
    assert export == {"digest": digest, "superseded_by": None}

    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.aptrust.operators.legacy_archive import ExportLegacyPharosOperator

    operator = ExportLegacyPharosOperator(task_id="x", schema=LEGACY_SCHEMA, location=str(tmp_path))
    with pytest.raises(AirflowFailException) as refusal:
        operator.execute({"run_id": "manual"})
    message = str(refusal.value)
    assert "usage_samples: 4 -> 3 rows" in message
    assert "documents removed: 1: usage_samples/4" in message and "documents changed: 1: snapshots/1" in message
    new_digest = message.rsplit("accept_result_sha256 = ", 1)[1].strip()

    accepted = _run(
        lambda: approve_pending(DAG_ID, "approve_drop", APPROVER, chosen="Reject"), accept_result_sha256=new_digest
    )
    assert str(accepted.state) == "success", task_states(accepted)
    assert xcom_return(accepted, "export_legacy_tables")["outcome"] == "replaced"
    exports = {r["digest"]: r["superseded_by"] for r in rows(archive, "SELECT * FROM legacy_pharos_exports")}
    assert exports == {digest: new_digest, new_digest: None}
    assert (tmp_path / digest).is_dir() and (tmp_path / new_digest).is_dir()  # the old file stays
    assert rows(archive, "SELECT count(*) AS n FROM legacy_pharos_records WHERE legacy_table = 'usage_samples'") == [
        {"n": 3}
    ]


def test_make_demo_runs_the_archive_to_moto_through_the_approval(airflow_db, archive, moto, monkeypatch):  # noqa: F811
    """What `make demo` does: the location of airflow_settings.yaml (moto's S3, its bucket created by
    the demo), the demo's approver answering; the 13 tables dropped, old_passwords kept."""
    from devstack import demo
    from devstack.settings import load_settings

    [location] = [
        v["variable_value"]
        for v in load_settings()["variables"]
        if v["variable_name"] == demo.ARCHIVE_LOCATION_VARIABLE
    ]
    monkeypatch.setenv("AIRFLOW_VAR_APTRUST_LEGACY_ARCHIVE_LOCATION", location)
    demo.ensure_archive_bucket(moto.endpoint_url)
    demo.ensure_archive_bucket(moto.endpoint_url)  # a second start finds it

    result = demo.run_dag(_dag(), {})

    assert result.state == "success", result.summary
    assert result.summary["approval"] == {"chosen": "Approve", "by": DEMO_APPROVER, "timed_out": False}
    assert result.summary["drop"]["approved_by"] == DEMO_APPROVER and len(result.summary["drop"]["dropped"]) == 13
    assert result.summary["verification"]["file"]["uri"].startswith(f"{location}/")
    assert _legacy_tables(archive) == ["old_passwords"]
