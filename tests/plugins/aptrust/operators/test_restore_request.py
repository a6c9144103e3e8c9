"""Restoration requests on the real registry: the whole list judged first (nothing written when a line
fails), WorkItems written as the registry writes a restore, once per run whatever is retried or cleared."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.include.aptrust.fixtures import registry, rows, short_delivery_timeout, topic_values  # noqa: F401 - fixtures

REQUESTER = "ann@test.edu"
RUN = {"run_id": "manual__restore"}


def _seed(registry):  # noqa: F811
    inst = registry.institution("test.edu")
    registry.user(inst, REQUESTER, role="institutional_user")
    registry.user(inst, "gone@test.edu", role="institutional_user", active=False)
    registry.user(registry.institution("aptrust.org", spot_restore_frequency=0), "ops@aptrust.org", role="admin")
    objects = {
        "plain": registry.intellectual_object(inst, "test.edu/plain", file_sizes=(1000, 24, None)),
        "glacier": registry.intellectual_object(inst, "test.edu/cold", storage_option="Glacier-Deep-VA"),
        "never": registry.intellectual_object(inst, "test.edu/never", ingested=False, etag="object-etag"),
        "deleted": registry.intellectual_object(inst, "test.edu/deleted", state="D"),
        "busy": registry.intellectual_object(inst, "test.edu/busy", file_sizes=(1, 2)),
        "reingest": registry.intellectual_object(inst, "test.edu/reingest"),
        "orphan": registry.intellectual_object(inst, "test.edu/orphan", ingested=False),
    }
    busy_sibling = rows(registry, "SELECT id FROM generic_files WHERE identifier = 'test.edu/busy/data/file-1.txt'")[0][
        "id"
    ]
    registry.work_item(inst, objects["busy"], "Restore File", "Started", generic_file_id=busy_sibling)
    registry.work_item(inst, None, "Ingest", "Pending", name="reingest.tar")  # not linked to its object yet
    # an active file of a deleted object: the registry's own check looks at the file only
    registry.connection.execute(
        "UPDATE generic_files SET state = 'A' WHERE identifier = 'test.edu/deleted/data/file-0.txt'"
    )
    other = registry.institution("other.edu")
    registry.intellectual_object(other, "other.edu/bag")
    return inst, objects


def _validate(identifiers, requester=REQUESTER, context=RUN):
    from preservation_pipelines.aptrust.operators.restore_request import ValidateRestorationListOperator

    return ValidateRestorationListOperator(task_id="v", requester=requester, identifiers=identifiers).execute(context)


def _create(identifiers, requester=REQUESTER, context=RUN):
    from preservation_pipelines.aptrust.operators.restore_request import CreateRestoreWorkItemsOperator

    return CreateRestoreWorkItemsOperator(task_id="c", requester=requester, identifiers=identifiers).execute(context)


def _restores(registry):  # noqa: F811
    return rows(
        registry,
        "SELECT w.*, r.identifier AS requested, r.dag_run_id FROM work_items w "
        "LEFT JOIN dag_restore_requests r ON r.work_item_id = w.id WHERE w.action <> 'Ingest' AND w.status = 'Pending' "
        "AND w.\"user\" <> 'someone@example.edu' ORDER BY w.id",
    )


def test_one_work_item_per_item_written_as_the_registry_writes_a_restore(registry):  # noqa: F811
    inst, objects = _seed(registry)
    # the last successful Record/Cleanup WorkItem is the model, whatever its action; a later one in another stage is not
    registry.work_item(inst, objects["plain"], "Ingest", "Success", name="plain-v2.tar")
    registry.connection.execute(
        "UPDATE work_items SET stage = 'Record', date_processed = %(at)s WHERE name = 'plain-v2.tar'",
        {"at": datetime.now(UTC) - timedelta(days=10)},
    )
    registry.work_item(inst, objects["plain"], "Ingest", "Success", name="plain-stray.tar")
    registry.connection.execute("UPDATE work_items SET stage = 'Receive' WHERE name = 'plain-stray.tar'")
    identifiers = ["test.edu/plain", "test.edu/cold/data/file-0.txt", "test.edu/never"]

    accepted = _validate(identifiers)
    assert accepted == {
        "requester": REQUESTER,
        "institution": "test.edu",
        "objects": ["test.edu/plain", "test.edu/never"],
        "files": ["test.edu/cold/data/file-0.txt"],
    }
    created = _create(identifiers)

    restores = {row["requested"]: row for row in _restores(registry)}
    assert set(restores) == set(identifiers)
    assert created["work_items"] == {identifier: restores[identifier]["id"] for identifier in identifiers}
    assert created["actions"] == {"Glacier Restore": 1, "Restore Object": 2} and created["created"] is True
    plain, cold, never = (restores[identifier] for identifier in identifiers)
    assert (plain["action"], plain["name"], plain["etag"], plain["bucket"], plain["size"]) == (
        "Restore Object",
        "plain-v2.tar",
        "etag-plain-v2.tar",
        "aptrust.receiving.demo",
        1024,
    )
    assert plain["generic_file_id"] is None and plain["intellectual_object_id"] == objects["plain"]
    # a file of a Glacier object: Glacier Restore, the file's id, the object's size
    assert (cold["action"], cold["intellectual_object_id"], cold["size"]) == (
        "Glacier Restore",
        objects["glacier"],
        1024,
    )
    assert cold["generic_file_id"] is not None
    # never ingested successfully: the bag name, the object's etag, the institution's receiving bucket
    [object_row] = rows(
        registry, "SELECT created_at FROM intellectual_objects WHERE id = %(id)s", {"id": objects["never"]}
    )
    assert (never["name"], never["etag"], never["bucket"], never["bag_date"]) == (
        "never.tar",
        "object-etag",
        "aptrust.receiving.test.edu",
        object_row["created_at"],
    )
    for row in restores.values():
        assert (row["user"], row["inst_approver"], row["aptrust_approver"]) == (REQUESTER, None, None)
        assert (row["stage"], row["status"], row["retry"], row["note"], row["outcome"]) == (
            "Requested",
            "Pending",
            True,
            "Not started",
            "Not started",
        )
        assert row["queued_at"] is None and row["date_processed"] is not None
        assert row["institution_id"] == inst and row["dag_run_id"] == RUN["run_id"]

    # retried or cleared: the run's WorkItems come back, nothing new; the validation does not judge them again
    assert _create(identifiers) == {**created, "created": False}
    assert _validate(identifiers)["already_created"] is True
    assert len(_restores(registry)) == 3


def test_several_files_of_one_object_go_in_one_request(registry):  # noqa: F811
    _seed(registry)
    files = [f"test.edu/plain/data/file-{n}.txt" for n in range(3)]

    created = _create(files)

    restores = _restores(registry)
    assert [row["action"] for row in restores] == ["Restore File"] * 3
    assert [row["size"] for row in restores] == [1024] * 3  # the object's size, as the registry writes it
    assert list(created["work_items"]) == files


def test_a_bad_list_fails_naming_every_line_and_creates_nothing(registry):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    _seed(registry)
    bad = [
        "test.edu/plain",
        "test.edu/nope",
        "test.edu/deleted",
        "test.edu/deleted/data/file-0.txt",
        "test.edu/busy",
        "test.edu/busy/data/file-0.txt",  # its sibling has a Restore File in progress
        "test.edu/reingest",
        "test.edu/plain/data/file-0.txt",
        "test.edu/orphan",
        "other.edu/bag",
    ]

    for attempt in (_validate, _create):
        with pytest.raises(AirflowFailException) as rejected:
            attempt(bad)
        message = str(rejected.value)
        for expected in (
            "(list): mixes institutions: other.edu, test.edu",
            "test.edu/nope: not found",
            "test.edu/deleted: deleted",
            "test.edu/deleted/data/file-0.txt: deleted (its object test.edu/deleted is deleted)",
            "test.edu/busy: pending work (WorkItem ",
            "test.edu/busy/data/file-0.txt: pending work on its object test.edu/busy",
            "test.edu/reingest: pending work (WorkItem ",
            "test.edu/plain/data/file-0.txt: conflict (object restored in the same request): test.edu/plain",
            "test.edu/orphan: no ingest record",
            "other.edu/bag: forbidden (an item of other.edu; ann@test.edu is a user of test.edu)",
        ):
            assert expected in message
        assert "- test.edu/plain:" not in message
    assert _restores(registry) == [] and rows(registry, "SELECT * FROM dag_restore_requests") == []


@pytest.mark.parametrize(
    ("requester", "named"),
    [
        ("nobody@test.edu", "nobody@test.edu"),  # no registry user at all
        ("gone@test.edu", "gone@test.edu"),  # deactivated
        ("ann@TEST.EDU.evil.example", "ann@test.edu.evil.example"),  # named as normalised
    ],
)
def test_a_requester_with_no_active_registry_user_is_unknown(registry, requester, named):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    _seed(registry)
    with pytest.raises(AirflowFailException, match=rf"\(requester\) {named}: unknown requester"):
        _validate(["test.edu/plain"], requester=requester)
    assert _restores(registry) == []


def test_an_aptrust_admin_restores_any_institutions_items_and_the_address_case_does_not_matter(registry):  # noqa: F811
    _seed(registry)
    assert _validate(["other.edu/bag"], requester="OPS@aptrust.org")["requester"] == "ops@aptrust.org"
    assert _validate(["test.edu/plain"], requester="Ann@test.edu")["requester"] == REQUESTER


def test_an_item_that_changed_since_the_validation_stops_the_creation(registry):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    inst, objects = _seed(registry)
    _validate(["test.edu/plain", "test.edu/cold"])
    registry.work_item(inst, objects["glacier"], "Delete", "Pending")  # someone asked to delete it meanwhile

    with pytest.raises(AirflowFailException, match="(?s)changed since the validation.*test.edu/cold: pending work"):
        _create(["test.edu/plain", "test.edu/cold"])
    assert _restores(registry) == [] and rows(registry, "SELECT * FROM dag_restore_requests") == []


def test_two_tries_of_one_run_at_once_create_one_set(registry):  # noqa: F811
    _seed(registry)
    identifiers = ["test.edu/plain", "test.edu/cold"]
    results, errors = [], []

    def attempt():
        try:
            results.append(_create(identifiers))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(result["created"] for result in results) == [False, True]
    assert results[0]["work_items"] == results[1]["work_items"]
    assert len(_restores(registry)) == 2


def test_work_committed_while_the_creation_waits_for_its_row_locks_is_seen(registry, postgres):  # noqa: F811
    """Another run (or any writer holding the object's row) commits pending work while this creation waits:
    the creation judges what was committed, not what its first statement saw, and creates nothing."""
    import psycopg
    from airflow.sdk.exceptions import AirflowFailException

    inst, objects = _seed(registry)
    errors: list[Exception] = []
    with psycopg.connect(postgres.url("aptrust_registry")) as holder:
        holder.execute("SELECT id FROM intellectual_objects WHERE id = %(id)s FOR UPDATE", {"id": objects["plain"]})

        def create():
            try:
                _create(["test.edu/plain/data/file-0.txt"], context={"run_id": "manual__second"})
            except Exception as error:  # noqa: BLE001 - asserted below
                errors.append(error)

        waiting = threading.Thread(target=create)
        waiting.start()
        waiting.join(timeout=2)
        assert waiting.is_alive()  # blocked on the object's row lock
        holder.execute(
            "INSERT INTO work_items (name, institution_id, intellectual_object_id, action, status) "
            "VALUES ('plain.tar', %(inst)s, %(id)s, 'Restore Object', 'Pending')",
            {"inst": inst, "id": objects["plain"]},
        )
        holder.commit()
        waiting.join(timeout=30)

    [error] = errors
    assert isinstance(error, AirflowFailException) and "test.edu/plain/data/file-0.txt: pending work" in str(error)
    assert rows(registry, "SELECT * FROM dag_restore_requests") == []


def test_a_broker_outage_leaves_the_runs_work_items_unqueued_and_the_retry_queues_each_once(
    registry,  # noqa: F811
    devstack,
    kafka,
    short_delivery_timeout,  # noqa: F811
    monkeypatch,
):
    from preservation_pipelines.aptrust.operators.work_items import QueueWorkItemsOperator, WorkItemsNotQueued
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook

    _seed(registry)
    created = _create(["test.edu/plain", "test.edu/cold/data/file-0.txt"])
    ids = created["work_item_ids"]

    def queue():
        return QueueWorkItemsOperator(
            task_id="queue_restorations", work_item_ids=ids, work_queue_conn_id=short_delivery_timeout
        ).execute({})

    with monkeypatch.context() as patched:
        patched.setattr(KafkaTopicProducerHook, "ensure_topics", lambda self, topics: None)
        devstack.stop(["kafka"])
        try:
            with pytest.raises(WorkItemsNotQueued):
                queue()
        finally:
            devstack.start(["kafka"])
    assert [row["queued_at"] for row in _restores(registry)] == [None, None]

    # the retry: creation finds the run's WorkItems, queueing publishes each once
    assert _create(["test.edu/plain", "test.edu/cold/data/file-0.txt"])["work_item_ids"] == ids
    assert sorted(queue()["queued"]) == ids
    assert all(row["queued_at"] is not None for row in _restores(registry))
    assert topic_values(kafka, "restore_object").count(str(ids[0])) == 1
    assert topic_values(kafka, "restore_glacier").count(str(ids[1])) == 1
