"""The run-notes listener under ``dag.test()``: a finished run's note shows its summary,
failed or not, beside what a person wrote; a run with no summary keeps its note."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.common.run_note import FULL_SUMMARY, SUMMARY_HEADING

pytestmark = pytest.mark.usefixtures("airflow_db")
SUMMARY_DAGS = Path(__file__).with_name("summary_dags.py")


@pytest.fixture(autouse=True)
def listener():
    from airflow.listeners.listener import get_listener_manager

    from preservation_pipelines.common.listeners import run_summary_note

    manager = get_listener_manager()
    added = not manager.pm.is_registered(run_summary_note)  # the plugin may have loaded it
    manager.add_listener(run_summary_note)
    yield
    if added:
        manager.pm.unregister(run_summary_note)


def _run(dag_id: str):
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(SUMMARY_DAGS), bundle_path=SUMMARY_DAGS.parent)
    assert bag.import_errors == {}
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.dags[dag_id].test()


def _stored_note(dag_id: str, run_id: str) -> str | None:
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).note


def test_a_successful_run_shows_its_figures_on_the_run():
    dag_run = _run("run_note_clean")

    assert str(dag_run.state) == "success"
    assert _stored_note("run_note_clean", dag_run.run_id) == "\n".join(
        [SUMMARY_HEADING, "- failed: none", "- written: 41", FULL_SUMMARY]
    )


def test_a_run_failed_by_its_summary_names_the_records_on_the_run():
    dag_run = _run("run_note_with_problems")

    assert str(dag_run.state) == "failed"
    note = _stored_note("run_note_with_problems", dag_run.run_id)
    assert "- failed: 1: /repositories/2/resources/18 (top container 4: barcode is not a string)" in note


def test_a_persons_note_stays_above_the_summary_after_a_clear():
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    first = _run("run_note_clean")
    with create_session() as session:
        stored = session.scalar(select(DagRun).where(DagRun.run_id == first.run_id))
        stored.note = "Checked by hand: the 41 records are in Alma."
    from preservation_pipelines.common.listeners.run_summary_note import write_summary_note

    with create_session() as session:
        write_summary_note(session.scalar(select(DagRun).where(DagRun.run_id == first.run_id)))

    note = _stored_note("run_note_clean", first.run_id)
    assert note.startswith("Checked by hand: the 41 records are in Alma.\n\n" + SUMMARY_HEADING)
    assert note.count(SUMMARY_HEADING) == 1
