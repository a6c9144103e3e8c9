"""aptrust_restore_request end to end on the real registry and broker: each item's WorkItem queued once on
its action's topic; a bad request fails before anything is written."""

from __future__ import annotations

from tests.dags.helpers import run_dag, task_states, xcom_return
from tests.include.aptrust.fixtures import failure_notices, mailbox, registry, rows, topic_values  # noqa: F401 - fixtures

DAG_ID = "aptrust_restore_request"
REQUESTER = "ann@test.edu"
ITEMS = ["test.edu/bag", "test.edu/bag-2/data/file-0.txt", "test.edu/cold"]


def _seed(registry):  # noqa: F811
    inst = registry.institution("test.edu")
    registry.user(inst, REQUESTER, role="institutional_user")
    registry.intellectual_object(inst, "test.edu/bag")
    registry.intellectual_object(inst, "test.edu/bag-2", file_sizes=(10, 20))
    registry.intellectual_object(inst, "test.edu/cold", storage_option="Glacier-OR")
    registry.intellectual_object(inst, "test.edu/deleted", state="D")
    busy = registry.intellectual_object(inst, "test.edu/busy")
    registry.work_item(inst, busy, "Ingest", "Started")
    return inst


def _restores(registry):  # noqa: F811
    return rows(
        registry,
        "SELECT w.id, w.action, w.queued_at, r.identifier FROM dag_restore_requests r "
        "JOIN work_items w ON w.id = r.work_item_id ORDER BY w.id",
    )


def test_each_item_is_created_and_queued_once_on_its_actions_topic(airflow_db, registry, kafka, mailbox):  # noqa: F811
    _seed(registry)

    dag_run = run_dag(DAG_ID, conf={"requester": REQUESTER, "identifiers": [*ITEMS, "test.edu/bag"]})

    assert str(dag_run.state) == "success", task_states(dag_run)
    restores = _restores(registry)
    assert [(r["identifier"], r["action"]) for r in restores] == [
        ("test.edu/bag", "Restore Object"),
        ("test.edu/bag-2/data/file-0.txt", "Restore File"),
        ("test.edu/cold", "Glacier Restore"),
    ]
    assert all(r["queued_at"] is not None for r in restores)
    topics = {"Restore Object": "restore_object", "Restore File": "restore_file", "Glacier Restore": "restore_glacier"}
    for restore in restores:
        assert topic_values(kafka, topics[restore["action"]]).count(str(restore["id"])) == 1
    summary = xcom_return(dag_run, "run_summary")
    assert summary["request"]["objects"] == ["test.edu/bag", "test.edu/cold"]
    assert summary["restorations"]["work_item_ids"] == [r["id"] for r in restores]
    assert summary["queue"]["queued"] == [r["id"] for r in restores]
    assert mailbox.messages() == []  # no mail: the restore digest tells the depositor when they are done

    # queueing cleared and run again: nothing is published twice
    from preservation_pipelines.aptrust.operators.work_items import QueueWorkItemsOperator

    again = QueueWorkItemsOperator(task_id="queue", work_item_ids=[r["id"] for r in restores]).execute({})
    assert (again["queued"], again["already_queued"]) == ([], 3)
    assert topic_values(kafka, "restore_object").count(str(restores[0]["id"])) == 1


def test_a_bad_request_fails_at_validation_and_writes_nothing(airflow_db, registry, mailbox):  # noqa: F811
    _seed(registry)
    bad = ["test.edu/bag", "test.edu/nope", "test.edu/deleted", "test.edu/busy"]

    dag_run = run_dag(DAG_ID, conf={"requester": "stranger@test.edu", "identifiers": bad})

    states = task_states(dag_run)
    assert str(dag_run.state) == "failed"
    assert states["validate_restoration_list"] == "failed"
    assert states["create_restore_work_items"] == "upstream_failed"
    assert _restores(registry) == []
    assert rows(registry, "SELECT count(*) AS n FROM work_items WHERE action <> 'Ingest'") == [{"n": 0}]
    # failed without retry: one notice, naming the task
    assert failure_notices(mailbox.messages()) == ["validate_restoration_list"]
