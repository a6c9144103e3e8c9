"""aptrust_spot_test_restore end to end on the real registry and broker, plus its faults."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest

from tests.dags.helpers import run_dag, task_states, xcom_return
from tests.include.aptrust.fixtures import registry, rows, topic_values  # noqa: F401 - fixture

DECEMBER_RUN = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 06:00 EST on the 1st
GB = 1024**3


def _seed(registry):  # noqa: F811
    standard = registry.institution("standard.edu", spot_restore_frequency=30)
    for n in range(6):
        registry.intellectual_object(standard, f"standard.edu/bag-{n}", file_sizes=(n + 1, 10))
    registry.intellectual_object(standard, "standard.edu/huge", file_sizes=(25 * GB,))
    glacier = registry.institution("glacier.edu", spot_restore_frequency=365)
    registry.intellectual_object(glacier, "glacier.edu/bag", storage_option="Glacier-OR")
    nothing = registry.institution("nothing.edu", spot_restore_frequency=30)
    registry.intellectual_object(nothing, "nothing.edu/never-ingested", ingested=False)
    registry.intellectual_object(nothing, "nothing.edu/null-size", file_sizes=(None,))
    off = registry.institution("off.edu", spot_restore_frequency=0)
    registry.intellectual_object(off, "off.edu/bag")
    return standard, glacier


def _spot_tests(registry):  # noqa: F811
    return rows(
        registry,
        "SELECT i.identifier AS institution, w.id, w.action, w.queued_at, o.identifier AS object, "
        "i.last_spot_restore_work_item_id AS last FROM spot_test_restores s JOIN institutions i ON i.id = s.institution_id "
        "JOIN work_items w ON w.id = s.work_item_id JOIN intellectual_objects o ON o.id = w.intellectual_object_id "
        "ORDER BY i.identifier",
    )


def test_one_queued_restore_per_opted_in_institution_however_often_it_runs(airflow_db, registry, kafka):  # noqa: F811
    _seed(registry)

    dag_run = run_dag("aptrust_spot_test_restore", logical_date=DECEMBER_RUN)

    assert str(dag_run.state) == "success", task_states(dag_run)
    tests = _spot_tests(registry)
    assert [(t["institution"], t["action"]) for t in tests] == [
        ("glacier.edu", "Glacier Restore"),
        ("standard.edu", "Restore Object"),
    ]
    assert all(t["queued_at"] is not None and t["last"] == t["id"] for t in tests)
    assert tests[1]["object"] != "standard.edu/huge"  # small objects are preferred
    summary = xcom_return(dag_run, "run_summary")
    assert summary["spot_tests"]["no_eligible_object"] == ["nothing.edu"]
    assert summary["queue"]["queued"] == sorted(t["id"] for t in tests)

    # the same run cleared and re-run, and a manual run later in December: nothing new
    run_dag("aptrust_spot_test_restore", logical_date=DECEMBER_RUN)
    again = run_dag("aptrust_spot_test_restore", logical_date=DECEMBER_RUN + timedelta(days=14))
    assert str(again.state) == "success"
    assert _spot_tests(registry) == tests
    assert xcom_return(again, "run_summary")["spot_tests"]["already_had"] == {t["institution"]: t["id"] for t in tests}
    for topic, test in (("restore_glacier", tests[0]), ("restore_object", tests[1])):
        assert topic_values(kafka, topic).count(str(test["id"])) == 1


def test_an_institution_with_an_unusable_frequency_is_named_and_the_others_get_their_spot_test(
    airflow_db,
    registry,
    kafka,  # noqa: F811
):
    _seed(registry)
    # the column takes any integer; a frequency of 2**31 - 1 days once overflowed for everyone after it
    forever = registry.institution("aaa-forever.edu", spot_restore_frequency=2**31 - 1)
    registry.intellectual_object(forever, "aaa-forever.edu/bag")

    dag_run = run_dag("aptrust_spot_test_restore", logical_date=DECEMBER_RUN)

    states = task_states(dag_run)
    assert (states["create_spot_tests"], states["queue_spot_tests"], states["run_summary"]) == (
        "success",
        "success",
        "failed",  # names it, without a retry
    )
    tests = _spot_tests(registry)
    assert [t["institution"] for t in tests] == ["glacier.edu", "standard.edu"]
    assert all(t["queued_at"] is not None for t in tests)
    refused = xcom_return(dag_run, "create_spot_tests")["refused"]
    assert list(refused) == ["aaa-forever.edu"] and "outside 1..3650 days" in refused["aaa-forever.edu"]


def _context(logical_date=DECEMBER_RUN, run_id="scheduled__2026-12-01T11:00:00+00:00"):
    return {"logical_date": logical_date, "run_id": run_id, "dag_run": SimpleNamespace(run_after=logical_date)}


def test_the_choice_is_reproducible_for_a_run(registry):  # noqa: F811
    from preservation_pipelines.aptrust.operators.spot_test import CreateSpotTestRestoresOperator

    standard, _ = _seed(registry)
    chosen = []
    for _attempt in range(2):
        CreateSpotTestRestoresOperator(task_id="create").execute(_context())
        chosen.append(_spot_tests(registry)[1]["object"])
        registry.connection.execute("DELETE FROM spot_test_restores")
        registry.connection.execute("UPDATE institutions SET last_spot_restore_work_item_id = NULL")
        registry.connection.execute("DELETE FROM work_items WHERE action <> 'Ingest'")
    assert chosen[0] == chosen[1]


def test_broker_down_between_insert_and_queue_leaves_it_unqueued_and_the_retry_queues_it_once(
    registry,
    kafka,
    devstack,  # noqa: F811
):
    from preservation_pipelines.aptrust.operators.spot_test import CreateSpotTestRestoresOperator
    from preservation_pipelines.aptrust.operators.work_items import QueueWorkItemsOperator, WorkItemsNotQueued

    _seed(registry)
    created = CreateSpotTestRestoresOperator(task_id="create").execute(_context())
    queue = QueueWorkItemsOperator(task_id="queue", work_item_ids=created["work_item_ids"])
    devstack.stop(["kafka"])
    try:
        with pytest.raises(Exception) as failure:
            queue.execute({})
    finally:
        devstack.start(["kafka"])
    assert failure.type.__name__ in ("KafkaException", WorkItemsNotQueued.__name__)
    assert all(t["queued_at"] is None for t in _spot_tests(registry))

    assert queue.execute({})["queued"] == created["work_item_ids"]
    assert queue.execute({})["already_queued"] == 2  # a second retry publishes nothing
    tests = _spot_tests(registry)
    assert all(t["queued_at"] is not None for t in tests)
    assert topic_values(kafka, "restore_object") == [str(tests[1]["id"])]  # the broker restarted empty


def test_database_restarted_mid_transaction_leaves_nothing_half_written_and_the_retry_completes(
    registry,
    devstack,
    monkeypatch,  # noqa: F811
):
    from include.aptrust import sql
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook
    from preservation_pipelines.aptrust.operators.spot_test import CreateSpotTestRestoresOperator

    _seed(registry)
    transaction = AptrustRegistryHook.transaction

    class RestartBeforeClaim:
        """Restarts PostgreSQL after the WorkItem insert, before its spot_test_restores row."""

        def __init__(self, cursor):
            self.cursor = cursor

        def execute(self, statement, parameters=None):
            if statement == sql.CLAIM_SPOT_TEST:
                devstack.restart("postgres")
            return self.cursor.execute(statement, parameters)

        def __getattr__(self, name):
            return getattr(self.cursor, name)

    @contextmanager
    def restarting_transaction(self):
        with transaction(self) as cursor:
            yield RestartBeforeClaim(cursor)

    monkeypatch.setattr(AptrustRegistryHook, "transaction", restarting_transaction)
    with pytest.raises(psycopg.OperationalError):
        CreateSpotTestRestoresOperator(task_id="create").execute(_context())
    monkeypatch.undo()

    with psycopg.connect(devstack["postgres"].url("aptrust_registry"), autocommit=True) as connection:
        registry.connection = connection
        assert rows(registry, "SELECT count(*) AS n FROM work_items WHERE action <> 'Ingest'")[0]["n"] == 0
        summary = CreateSpotTestRestoresOperator(task_id="create").execute(_context())
        assert len(summary["created"]) == 2
        assert len(_spot_tests(registry)) == 2
        # a restart between institutions is harmless: every call opens a fresh connection
        devstack.restart("postgres")
        assert CreateSpotTestRestoresOperator(task_id="create").execute(_context())["created"] == {}
