"""aptrust_bulk_delete end to end: validation, human-in-the-loop approval answered as the
Required Actions UI does, the registry's deletion request confirmed or cancelled, Delete WorkItems
queued, the Deletion Requested/Confirmed/Cancelled alerts mailed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from devstack.demo import answer_in_background
from devstack.demo_seed_aptrust import approve_pending
from tests.dags.helpers import run_dag, task_states, xcom_return
from tests.include.aptrust.fixtures import failure_notices, mailbox, registry, rows, topic_values  # noqa: F401 - fixtures

DAG_ID = "aptrust_bulk_delete"
REQUESTER = "ann@test.edu"
APPROVER = "carol@test.edu"
ITEMS = ["test.edu/bag-0", "test.edu/bag-1", "test.edu/bag-2/data/file-0.txt"]


def _seed(registry):  # noqa: F811
    inst = registry.institution("test.edu")
    registry.user(inst, APPROVER)
    registry.user(inst, "gone@test.edu", active=False)
    registry.user(inst, REQUESTER, role="institutional_user")
    objects = [registry.intellectual_object(inst, f"test.edu/bag-{n}") for n in range(3)]
    registry.intellectual_object(inst, "test.edu/deleted", state="D")
    busy = registry.intellectual_object(inst, "test.edu/busy")
    registry.work_item(inst, busy, "Restore Object", "Started")
    other = registry.institution("other.edu")
    registry.user(other, "admin@other.edu")
    registry.intellectual_object(other, "other.edu/bag")
    return objects


def _run(answer, identifiers=ITEMS, requester=REQUESTER):
    responder = answer_in_background(answer, wait_seconds=120)
    dag_run = run_dag(DAG_ID, conf={"institution": "test.edu", "requester": requester, "identifiers": identifiers})
    responder.join(timeout=5)
    return dag_run


def _subjects(mailbox):
    """What was mailed, in order: each alert as subject -> recipient, and failure notices by task."""
    return [
        f"failure notice: {failure_notices([m])[0]}" if failure_notices([m])
        else f"{m['subject']} -> {m['rcpt_tos'][0]}"
        for m in mailbox.messages()
    ]  # fmt: skip


def _deletion_requests(registry):  # noqa: F811
    """Each deletion request with its people by email, objects, files and mapped run."""
    return rows(
        registry,
        "SELECT r.id, rq.email AS requested_by, cf.email AS confirmed_by, cn.email AS cancelled_by, r.requested_at, "
        "r.confirmed_at, r.cancelled_at, r.encrypted_confirmation_token AS token, d.request_key, "
        "ARRAY(SELECT o.identifier FROM deletion_requests_intellectual_objects x "
        "      JOIN intellectual_objects o ON o.id = x.intellectual_object_id "
        "      WHERE x.deletion_request_id = r.id ORDER BY 1) AS objects, "
        "ARRAY(SELECT f.identifier FROM deletion_requests_generic_files x JOIN generic_files f ON f.id = x.generic_file_id "
        "      WHERE x.deletion_request_id = r.id ORDER BY 1) AS files "
        "FROM deletion_requests r LEFT JOIN users rq ON rq.id = r.requested_by_id "
        "LEFT JOIN users cf ON cf.id = r.confirmed_by_id LEFT JOIN users cn ON cn.id = r.cancelled_by_id "
        "LEFT JOIN dag_deletion_requests d ON d.deletion_request_id = r.id ORDER BY r.id",
    )


def _alerts(registry):  # noqa: F811
    return rows(
        registry,
        "SELECT a.type, a.deletion_request_id, "
        "ARRAY(SELECT u.email FROM alerts_users au JOIN users u ON u.id = au.user_id WHERE au.alert_id = a.id "
        "      AND au.sent_at IS NOT NULL ORDER BY 1) AS sent_to, "
        "ARRAY(SELECT work_item_id FROM alerts_work_items WHERE alert_id = a.id ORDER BY 1) AS work_items "
        "FROM alerts a JOIN dag_alerts d ON d.alert_id = a.id ORDER BY a.id",
    )


def _deletes(registry):  # noqa: F811
    return rows(
        registry,
        'SELECT id, "user", inst_approver, queued_at, generic_file_id, deletion_request_id FROM work_items '
        "WHERE action = 'Delete' ORDER BY id",
    )


def test_approved_by_another_person_creates_queues_and_confirms_every_item(airflow_db, registry, kafka, mailbox):  # noqa: F811
    _seed(registry)

    dag_run = _run(lambda: approve_pending(DAG_ID, "approve_deletion", APPROVER))

    assert str(dag_run.state) == "success", task_states(dag_run)
    deletes = _deletes(registry)
    assert len(deletes) == 3
    assert {(d["user"], d["inst_approver"]) for d in deletes} == {(REQUESTER, APPROVER)}
    assert all(d["queued_at"] is not None for d in deletes)
    assert [d["generic_file_id"] is not None for d in deletes] == [False, False, True]
    on_topic = topic_values(kafka, "delete_item")
    assert all(on_topic.count(str(d["id"])) == 1 for d in deletes)
    [request] = _deletion_requests(registry)
    assert (request["requested_by"], request["confirmed_by"], request["cancelled_by"]) == (REQUESTER, APPROVER, None)
    assert request["confirmed_at"] is not None and request["cancelled_at"] is None
    assert request["requested_at"] <= request["confirmed_at"]
    assert request["token"].startswith("$2b$")  # a bcrypt hash of a token never sent
    assert request["objects"] == ITEMS[:2] and request["files"] == ITEMS[2:]
    assert request["request_key"] == f"{DAG_ID}/{dag_run.run_id}"
    assert {d["deletion_request_id"] for d in deletes} == {request["id"]}
    requested, confirmed = _alerts(registry)
    assert (requested["type"], requested["sent_to"], requested["work_items"]) == ("Deletion Requested", [APPROVER], [])
    assert (confirmed["type"], confirmed["deletion_request_id"]) == ("Deletion Confirmed", request["id"])
    assert confirmed["sent_to"] == [REQUESTER, APPROVER] and confirmed["work_items"] == [d["id"] for d in deletes]
    request_mail, *confirmations = mailbox.messages()
    assert request_mail["rcpt_tos"] == [APPROVER] and request_mail["subject"] == "Deletion Requested"
    assert f"/dags/{DAG_ID}/runs/" in request_mail["body"] and "/required_actions" in request_mail["body"]
    assert sorted(m["rcpt_tos"][0] for m in confirmations) == [REQUESTER, APPROVER]
    message = confirmations[0]
    assert message["subject"] == "Deletion Confirmed"
    assert all(f"{identifier} (WorkItem" in message["body"] for identifier in ITEMS)
    assert f"Approved by: {APPROVER}" in message["body"]
    summary = xcom_return(dag_run, "run_summary")
    assert summary["deletions"]["work_item_ids"] == [d["id"] for d in deletes]
    assert summary["approval"] == {"chosen": "Approve", "by": APPROVER, "timed_out": False}

    # the creating task cleared and re-run: the run's job is returned, nothing new
    from preservation_pipelines.aptrust.operators.deletion import CreateDeleteWorkItemsOperator

    again = CreateDeleteWorkItemsOperator(
        task_id="create", institution="test.edu", requester=REQUESTER, identifiers=ITEMS, approval={}
    ).execute({"dag": SimpleNamespace(dag_id=DAG_ID), "run_id": dag_run.run_id})
    assert again["deletion_request_id"] == request["id"] and len(_deletes(registry)) == 3
    assert len(_deletion_requests(registry)) == 1 and len(_alerts(registry)) == 2


def test_a_bad_list_fails_before_approval_naming_each_item_and_creates_nothing(airflow_db, registry):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.aptrust.operators.deletion import ValidateDeletionListOperator

    _seed(registry)
    bad = ["test.edu/bag-0", "test.edu/nope", "test.edu/deleted", "test.edu/busy", "other.edu/bag"]

    with pytest.raises(AirflowFailException) as rejected:
        ValidateDeletionListOperator(task_id="v", institution="test.edu", requester=REQUESTER, identifiers=bad).execute(
            {}
        )
    message = str(rejected.value)
    for expected in (
        "test.edu/nope: not found",
        "test.edu/deleted: conflict: already deleted",
        "test.edu/busy: conflict: pending WorkItem(s)",
        "other.edu/bag: belongs to another institution",
        "mixes institutions",
    ):
        assert expected in message
    assert "test.edu/bag-0" not in message

    dag_run = run_dag(DAG_ID, conf={"institution": "test.edu", "requester": REQUESTER, "identifiers": bad})
    states = task_states(dag_run)
    assert str(dag_run.state) == "failed"
    assert states["validate_deletion_list"] == "failed" and states["approve_deletion"] == "upstream_failed"
    assert _deletes(registry) == [] and _deletion_requests(registry) == []


def test_rejection_creates_nothing_records_the_request_cancelled_and_tells_requester_and_admins(
    airflow_db,
    registry,
    mailbox,  # noqa: F811
):
    _seed(registry)

    dag_run = _run(lambda: approve_pending(DAG_ID, "approve_deletion", APPROVER, chosen="Reject"))

    states = task_states(dag_run)
    assert str(dag_run.state) == "success"
    assert states["create_delete_work_items"] == "skipped" and states["send_confirmation"] == "skipped"
    assert xcom_return(dag_run, "run_summary")["approval"] == {"chosen": "Reject", "by": APPROVER, "timed_out": False}
    assert _deletes(registry) == []  # a rejection is no failure
    [request] = _deletion_requests(registry)
    assert (request["requested_by"], request["cancelled_by"], request["confirmed_by"]) == (REQUESTER, APPROVER, None)
    assert request["cancelled_at"] is not None and request["confirmed_at"] is None
    assert request["objects"] == ITEMS[:2] and request["files"] == ITEMS[2:]
    [asked, *told] = _subjects(mailbox)
    assert asked == f"Deletion Requested -> {APPROVER}"
    assert sorted(told) == [f"Deletion Cancelled -> {REQUESTER}", f"Deletion Cancelled -> {APPROVER}"]
    cancelled = _alerts(registry)[1]
    assert (cancelled["type"], cancelled["deletion_request_id"]) == ("Deletion Cancelled", request["id"])
    assert f"was rejected by {APPROVER}" in mailbox.messages()[1]["body"]


def test_the_requester_cannot_approve_their_own_request(airflow_db, registry, mailbox):  # noqa: F811
    _seed(registry)

    dag_run = _run(lambda: approve_pending(DAG_ID, "approve_deletion", REQUESTER.upper()))

    assert str(dag_run.state) == "failed"
    assert task_states(dag_run)["approve_deletion"] == "failed"
    assert _deletes(registry) == [] and _deletion_requests(registry) == []
    assert _subjects(mailbox) == [f"Deletion Requested -> {APPROVER}", "failure notice: approve_deletion"]


@pytest.mark.parametrize(
    "approver",
    [
        "ann@\uff54\uff45\uff53\uff54.edu",  # the requester's address with a fullwidth domain: the same registry user
        "carol",  # an Airflow user with no email (the simple auth manager's kind): cannot be mapped
        "gone@test.edu",  # a deactivated registry user
        "dave@test.edu",  # no registry user at all
        "admin@other.edu",  # an active registry user of another institution
    ],
)
def test_an_approval_by_the_requester_under_another_spelling_or_by_an_unmappable_user_is_refused(
    airflow_db,
    registry,
    mailbox,
    approver,  # noqa: F811
):
    _seed(registry)

    dag_run = _run(lambda: approve_pending(DAG_ID, "approve_deletion", approver))

    assert str(dag_run.state) == "failed"
    assert task_states(dag_run)["approve_deletion"] == "failed"
    assert _deletes(registry) == [] and _deletion_requests(registry) == []
    assert _subjects(mailbox) == [f"Deletion Requested -> {APPROVER}", "failure notice: approve_deletion"]


@pytest.mark.parametrize(
    ("requester", "reason"),
    [
        ("gone@test.edu", "is not an active registry user of test.edu"),  # deactivated
        ("stranger@test.edu", "is not an active registry user of test.edu"),  # typed by whoever triggered
        ("ann@test.edu\r\nBcc: everyone@evil.example", r"\(requester\): .* is not an email address"),
        ("ann", r"\(requester\): 'ann' is not an email address"),
    ],
)
def test_a_requester_who_is_not_an_active_registry_user_fails_validation_at_once(registry, requester, reason):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.aptrust.operators.deletion import ValidateDeletionListOperator

    _seed(registry)
    with pytest.raises(AirflowFailException, match=reason) as rejected:
        ValidateDeletionListOperator(
            task_id="v", institution="test.edu", requester=requester, identifiers=ITEMS
        ).execute({})
    assert "\r\nBcc" not in str(rejected.value)  # named escaped, never echoed raw into the log


def test_whoever_triggered_the_run_cannot_approve_it(registry):  # noqa: F811
    """The requester's address was typed by the person who then approves: refused at creation too."""
    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.aptrust.operators.deletion import CreateDeleteWorkItemsOperator

    _seed(registry)
    with pytest.raises(AirflowFailException, match="triggered this request for ann@test.edu"):
        CreateDeleteWorkItemsOperator(
            task_id="create",
            institution="test.edu",
            requester=REQUESTER,
            identifiers=ITEMS,
            approval={"responded_by_user": {"id": "7", "name": APPROVER}},
        ).execute(
            {
                "dag": SimpleNamespace(dag_id=DAG_ID),
                "run_id": "manual__typed",
                "dag_run": SimpleNamespace(triggering_user_name=APPROVER),
            }
        )
    assert _deletes(registry) == [] and _deletion_requests(registry) == []


def test_no_answer_before_the_timeout_rejects_and_creates_nothing(airflow_db, registry, mailbox):  # noqa: F811
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    _seed(registry)

    def time_out():
        """The response deadline passes; the scheduler's sweep resolves the task with its default."""
        with create_session() as session:
            waiting = (
                session.query(TaskInstance)
                .filter(TaskInstance.dag_id == DAG_ID, TaskInstance.state == TaskInstanceState.AWAITING_INPUT)
                .first()
            )
            if waiting is None:
                return False
            assert waiting.trigger_timeout is not None  # the operator's response_timeout is in force
            waiting.trigger_timeout = datetime.now(UTC) - timedelta(seconds=1)
        SchedulerJobRunner.check_awaiting_input_timeouts(SimpleNamespace(log=logging.getLogger("sweep")))
        return True

    dag_run = _run(time_out)

    assert str(dag_run.state) == "success"
    assert task_states(dag_run)["create_delete_work_items"] == "skipped"
    assert xcom_return(dag_run, "run_summary")["approval"] == {"chosen": "Reject", "by": None, "timed_out": True}
    assert _deletes(registry) == []
    [request] = _deletion_requests(registry)
    assert request["cancelled_at"] is not None and request["cancelled_by"] is None
    assert [a["type"] for a in _alerts(registry)] == ["Deletion Requested", "Deletion Cancelled"]


def test_an_item_that_changed_while_awaiting_approval_stops_the_creation(registry):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.aptrust.operators.deletion import CreateDeleteWorkItemsOperator

    objects = _seed(registry)
    registry.work_item(1, objects[1], "Ingest", "Pending")  # a new version arrived meanwhile

    with pytest.raises(AirflowFailException, match="test.edu/bag-1: conflict: pending WorkItem"):
        CreateDeleteWorkItemsOperator(
            task_id="create",
            institution="test.edu",
            requester=REQUESTER,
            identifiers=ITEMS,
            approval={"responded_by_user": {"id": APPROVER, "name": APPROVER}},
        ).execute({"dag": SimpleNamespace(dag_id=DAG_ID), "run_id": "manual__changed"})
    assert _deletes(registry) == [] and _deletion_requests(registry) == []


def test_an_institution_with_no_admins_gets_its_confirmation_recorded_and_sent_to_the_requester_only(
    registry,
    mailbox,  # noqa: F811
):
    from preservation_pipelines.aptrust.operators.alerts import SendAlertsOperator
    from preservation_pipelines.aptrust.operators.deletion import CreateDeleteWorkItemsOperator

    _seed(registry)
    registry.connection.execute("UPDATE users SET role = 'institutional_user' WHERE email = %s", (APPROVER,))
    context = {"dag": SimpleNamespace(dag_id=DAG_ID), "run_id": "manual__no_admins"}

    created = CreateDeleteWorkItemsOperator(
        task_id="create",
        institution="test.edu",
        requester=REQUESTER,
        identifiers=ITEMS,
        approval={"responded_by_user": {"id": APPROVER, "name": APPROVER}},
    ).execute(context)
    SendAlertsOperator(task_id="send", scope="run").execute(context)

    assert created["confirmed_by"] == APPROVER and len(created["work_item_ids"]) == 3
    [confirmed] = _alerts(registry)
    assert confirmed["type"] == "Deletion Confirmed" and confirmed["sent_to"] == [REQUESTER]
    assert _subjects(mailbox) == [f"Deletion Confirmed -> {REQUESTER}"]


def test_a_crash_before_the_confirmation_commits_leaves_nothing_and_the_retry_records_it_once(registry, mailbox):  # noqa: F811
    import include.aptrust.alerts_sql as sql
    from preservation_pipelines.aptrust.operators.alerts import SendAlertsOperator
    from preservation_pipelines.aptrust.operators.deletion import CreateDeleteWorkItemsOperator

    _seed(registry)
    context = {"dag": SimpleNamespace(dag_id=DAG_ID), "run_id": "manual__crash"}
    create = CreateDeleteWorkItemsOperator(
        task_id="create",
        institution="test.edu",
        requester=REQUESTER,
        identifiers=ITEMS,
        approval={"responded_by_user": {"id": APPROVER, "name": APPROVER}},
    )
    with pytest.MonkeyPatch.context() as patch:  # request, items, WorkItems and alert written, then a crash
        patch.setattr(sql, "INSERT_DAG_ALERT", "SELECT 1 / 0")
        with pytest.raises(Exception, match="division by zero"):
            create.execute(context)
    assert _deletes(registry) == [] and _deletion_requests(registry) == [] and _alerts(registry) == []

    first, again = create.execute(context), create.execute(context)
    SendAlertsOperator(task_id="send", scope="run").execute(context)
    SendAlertsOperator(task_id="send", scope="run").execute(context)

    assert first == again and len(_deletes(registry)) == 3 and len(_deletion_requests(registry)) == 1
    assert sorted(_subjects(mailbox)) == [f"Deletion Confirmed -> {REQUESTER}", f"Deletion Confirmed -> {APPROVER}"]
