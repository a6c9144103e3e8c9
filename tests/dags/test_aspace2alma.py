"""aspace2alma end to end on the devstack: the stand-in's records land in MARC_out.xml."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.dags.helpers import run_dag, task_states, xcom_return

MARC = "{http://www.loc.gov/MARC21/slim}"


@pytest.fixture
def dropbox(sftp):
    folder = sftp.local_path("/alma/aspace")
    for name in ("MARC_out.xml", "MARC_out_old.xml"):
        (folder / name).unlink(missing_ok=True)
    return folder


def test_exports_every_resource_into_one_collection_and_rotates_the_previous_file(airflow_db, aspace, dropbox):
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")

    dag_run = run_dag("aspace2alma")

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert (dropbox / "MARC_out_old.xml").read_text() == "<collection>yesterday</collection>"
    collection = etree.parse(str(dropbox / "MARC_out.xml")).getroot()
    assert collection.tag == f"{MARC}collection"
    records = collection.findall(f"{MARC}record")
    summary = xcom_return(dag_run, "export_to_alma")
    assert summary["resources_written"] == len(records) > 0
    assert summary["resources_seen"] == summary["resources_written"] + summary["resources_errored"]
    assert summary["bytes_uploaded"] == (dropbox / "MARC_out.xml").stat().st_size
    assert not [name for name in dropbox.iterdir() if name.name.endswith(".part")]


def test_a_failed_export_leaves_no_marc_out_for_alma(airflow_db, aspace, dropbox):
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")
    aspace.admin("faults", {"down": True})
    try:
        dag = __import__("tests.dags.helpers", fromlist=["load_dag"]).load_dag("aspace2alma")
        for task in dag.tasks:
            task.retries = 0
        dag_run = dag.test()
    finally:
        aspace.admin("faults", {"down": False})

    assert str(dag_run.state) == "failed"
    assert not (dropbox / "MARC_out.xml").exists()
    assert (dropbox / "MARC_out_old.xml").read_text() == "<collection>yesterday</collection>"
    assert not [name for name in dropbox.iterdir() if name.name.endswith(".part")]
