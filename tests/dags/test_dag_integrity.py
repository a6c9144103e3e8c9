"""Every DAG in dags/ imports cleanly, serializes, and carries what operators rely on."""

from __future__ import annotations

import socket

import pytest
import yaml

from devstack.settings import REPO_ROOT, load_settings

DAGS_FOLDER = REPO_ROOT / "dags"


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture(scope="module")
def dagbag():
    return _dagbag()


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAG found in dags/"


def test_parsing_touches_no_network_variable_or_connection(monkeypatch):
    from airflow.sdk import BaseHook, Variable

    def refuse(*args, **kwargs):
        raise AssertionError("DAG files must not reach the network, Variables or Connections at parse time")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(Variable, "get", refuse)
    monkeypatch.setattr(BaseHook, "get_connection", refuse)
    bag = _dagbag()
    assert bag.import_errors == {}


def test_every_dag_serializes_and_round_trips(dagbag):
    from airflow.serialization.encoders import encode_timetable
    from airflow.serialization.serialized_objects import DagSerialization

    for dag_id, dag in dagbag.dags.items():
        serialized = DagSerialization.to_dict(dag)
        restored = DagSerialization.from_dict(serialized)
        assert restored.dag_id == dag_id
        assert encode_timetable(restored.timetable) == serialized["dag"]["timetable"], dag_id
        assert {task.task_id for task in restored.tasks} == {task.task_id for task in dag.tasks}, dag_id


def test_every_dag_is_documented_owned_tagged_and_retried(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md.strip()) > 200, f"{dag_id}: doc_md missing or too thin"
        assert "Recovery" in dag.doc_md, f"{dag_id}: doc_md must say how to recover"
        assert dag.tags, f"{dag_id}: no tags"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id}: no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id}: no retries"


def test_every_task_mails_its_systems_recipients_when_it_fails(dagbag):
    from preservation_pipelines.common.notifiers.failure import TaskFailureNotifier

    variables = {item["variable_name"] for item in load_settings()["variables"]}
    for dag_id, dag in dagbag.dags.items():
        system = next(tag for tag in dag.tags if tag in ("aspace2alma", "postingest", "aptrust", "merritt"))
        for task in dag.tasks:
            [notifier] = [c for c in task.on_failure_callback or [] if isinstance(c, TaskFailureNotifier)]
            assert notifier.recipients_variable == f"{system}_alert_to", f"{dag_id}.{task.task_id}"
        assert f"{system}_alert_to" in variables, f"{system}_alert_to missing from airflow_settings.yaml"


def test_every_param_has_a_title_and_every_enum_its_display_names(dagbag):
    for dag_id, dag in dagbag.dags.items():
        for name in dag.params:
            schema = dag.params.get_param(name).schema
            assert schema.get("title"), f"{dag_id}.{name}: no title in the form"
            if "enum" in schema:
                assert set(schema.get("values_display", {})) == set(schema["enum"]), f"{dag_id}.{name}: values_display"


def test_every_pool_used_is_declared_in_airflow_settings(dagbag):
    declared = {pool["pool_name"] for pool in load_settings()["pools"]} | {"default_pool"}
    for dag in dagbag.dags.values():
        for task in dag.tasks:
            assert task.pool in declared, f"{dag.dag_id}.{task.task_id}: pool {task.pool} not in airflow_settings.yaml"


def test_airflow_settings_is_valid_astro_yaml():
    document = yaml.safe_load((REPO_ROOT / "airflow_settings.yaml").read_text())
    for conn in document["airflow"]["connections"]:
        assert set(conn) <= {
            "conn_id",
            "conn_type",
            "conn_host",
            "conn_schema",
            "conn_login",
            "conn_password",
            "conn_port",
            "conn_extra",
        }, conn["conn_id"]


def test_assets_draw_the_lineage_between_the_dags(dagbag):
    produced, read = {}, {}
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            for asset in task.outlets:
                produced.setdefault(asset.uri, set()).add(dag_id)
            for asset in task.inlets:
                read.setdefault(asset.uri, set()).add(dag_id)
    marc_export = "x-sftp://lib_sftp/alma/aspace/MARC_out.xml"
    assert produced[marc_export] == {"aspace2alma"}
    assert read[marc_export] == {"aspace2alma_skip_day_cleanup"}
    work_items = "x-postgres://aptrust_registry/public/work_items"
    assert produced[work_items] == {"aptrust_spot_test_restore", "aptrust_bulk_delete", "aptrust_restore_request"}
    assert read[work_items] == {"aptrust_restore_notifications", "aptrust_alerts"}
    legacy_tables = "x-postgres://aptrust_registry/legacy/pharos_tables"
    assert read[legacy_tables] == produced[legacy_tables] == {"aptrust_legacy_pharos_archive"}  # read, then dropped
    assert produced["x-postgres://aptrust_registry/public/legacy_pharos_records"] == {"aptrust_legacy_pharos_archive"}
    assert produced["x-kafka://kafka_producer/restore_object"] == {
        "aptrust_spot_test_restore",
        "aptrust_restore_request",
    }
    assert produced["x-zookeeper://merritt_zk/batches"] == {
        "merritt_ingest_staging", "merritt_batch_reporting", "merritt_queue_admin"
    }  # fmt: skip
    without = {d for d, dag in dagbag.dags.items() if not any(t.outlets or t.inlets for t in dag.tasks)}
    assert read["x-dynamodb://aws_default/dr2-postingest-state"] == {"postingest_state_change", "postingest_resender"}
    assert produced["x-kafka://kafka_producer/dr2-notifications"] == {"postingest_state_change"}
    assert without == {"aspace2alma_deadline_check"}  # it reads the export's run state, not a dataset
