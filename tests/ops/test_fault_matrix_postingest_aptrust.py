"""Fault injection under the real scheduler for the postingest and APTrust DAGs (see
tests/ops/test_fault_matrix.py for the pattern, docs/reliability.md for the matrix).

A server the DAG touches is stopped once the run has started, the task's try fails,
the server comes back, an operator clears the failed task through the REST API, and
the run succeeds; then the external state is checked: nothing lost, nothing
duplicated, nothing half-written.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from devstack.airflow import APPROVER_USER
from tests.dags.postingest.fixtures import postingest  # noqa: F401 - fixture
from tests.dags.test_aptrust_bulk_delete import ITEMS, REQUESTER
from tests.dags.test_aptrust_bulk_delete import _deletes as bulk_deletes
from tests.dags.test_aptrust_bulk_delete import _deletion_requests as deletion_requests
from tests.dags.test_aptrust_bulk_delete import _seed as seed_bulk_delete
from tests.dags.test_aptrust_restore_notifications import _digests as digest_alerts
from tests.dags.test_aptrust_restore_notifications import _seed as seed_restores
from tests.dags.test_aptrust_spot_test_restore import _seed as seed_spot_tests
from tests.dags.test_aptrust_spot_test_restore import _spot_tests as spot_tests

# registry_mail: the sink's messages without the failure notifier's (to aptrust_alert_to), which runs
# other cells left failing may send at any time
from tests.include.aptrust.fixtures import mailbox, registry, registry_mail, rows, topic_values  # noqa: F401

FAILED_TRY = {"up_for_retry", "failed"}
STATE_CHANGE = "postingest_state_change"
RESENDER = "postingest_resender"
SPOT_TEST = "aptrust_spot_test_restore"
DIGESTS = "aptrust_restore_notifications"
BULK_DELETE = "aptrust_bulk_delete"
APPROVAL_SETTLE_SECONDS = 15  # past the pausing try's exit report (see _approve)
NOVEMBER_RUN = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)  # 06:00 EST on the 1st


def _fresh(api, dag_id: str):
    api.wait_for_dag(dag_id)
    api.unpause(dag_id)
    for run in api.runs(dag_id):
        api.call("DELETE", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}")


def _published_since(kafka, topic: str, earlier: Counter) -> list[str]:
    """The values published on ``topic`` beyond ``earlier`` (a Counter of what was there), sorted;
    a value published twice since shows twice."""
    return sorted((Counter(topic_values(kafka, topic)) - earlier).elements())


@pytest.fixture
def postingest_world(api, postingest):  # noqa: F811 - fixture
    """A private postingest world whose Variables (names, queue config) the cluster can read
    (the fixture's AIRFLOW_VAR_* live only in this process), both DAGs fresh; the cluster's
    own Variables (the devstack's queue config, which the Pipelines view reads) come back after."""
    before = {key: api.variable(key) for key in postingest.variables}
    for key, value in postingest.variables.items():
        api.set_variable(key, value)
    for dag_id in (STATE_CHANGE, RESENDER):
        _fresh(api, dag_id)
    yield postingest
    for key, value in before.items():
        if value is None:
            api.delete_variable(key)
        else:
            api.set_variable(key, value)


def test_postingest_state_change_kafka_stopped(api, devstack, kafka, postingest_world):
    from confluent_kafka.admin import AdminClient

    from devstack import postingest_provisioning as provisioning

    world = postingest_world
    assets = [world.insert_asset(correlationId=f"corr-{n}") for n in range(5)]
    devstack.stop(["kafka"])
    try:
        run_id = api.trigger(STATE_CHANGE)
        api.wait_for_task(STATE_CHANGE, run_id, "apply_stream_records", FAILED_TRY, timeout=120)
    finally:
        devstack.start(["kafka"])
        # tansu keeps topics in memory: the session's later tests need theirs back too
        provisioning.create_topic(AdminClient({"bootstrap.servers": kafka.bootstrap_servers}), world.topic)

    api.clear_tasks(STATE_CHANGE, run_id, ["apply_stream_records"], downstream=True)
    assert api.wait_for_run(STATE_CHANGE, run_id) == "success", api.task_states(STATE_CHANGE, run_id)

    # nothing sent twice to the confirmer, every asset moved on exactly once
    messages = world.queue_messages("CC")
    assert sorted(m["assetId"] for m in messages) == sorted(a["assetId"] for a in assets)
    assert all(world.item(asset)["queue"] == "CC" for asset in assets)
    # nothing lost: every asset announced once after the broker came back
    notices = world.notifications(expected=len(assets))
    assert sorted(n["key"] for n in notices) == sorted(a["assetId"] for a in assets)
    assert len({n["properties"]["messageId"] for n in notices}) == len(assets)
    summary = api.xcom(STATE_CHANGE, run_id, "report")
    assert summary["parked"] == [] and summary["notifications"] == len(assets)


# moto keeps its state in memory: the devstack serves it behind a gate, and an outage
# closes the gate (clients get "connection refused") while moto keeps its tables.
PAGE = 100  # stream records applied between checkpoints (the operator's page_size)


def test_postingest_state_change_moto_disconnected_mid_run(api, devstack, moto, postingest_world):
    world = postingest_world
    # enough that the parallel, batched applier (~100 records/s here) is still at it when moto goes
    assets = [world.insert_asset(correlationId=f"corr-{n}") for n in range(1200)]
    run_id = api.trigger(STATE_CHANGE)
    api.wait_for_task(STATE_CHANGE, run_id, "apply_stream_records", {"running"}, timeout=120)
    time.sleep(3)  # some pages applied and checkpointed
    moto.disconnect()
    try:
        state = api.wait_for_task(STATE_CHANGE, run_id, "apply_stream_records", FAILED_TRY | {"success"}, timeout=180)
        assert state in FAILED_TRY, "apply_stream_records finished before moto went away: widen it"
    finally:
        moto.reconnect()

    api.clear_tasks(STATE_CHANGE, run_id, ["apply_stream_records"], downstream=True)
    assert api.wait_for_run(STATE_CHANGE, run_id) == "success", api.task_states(STATE_CHANGE, run_id)

    ids = sorted(a["assetId"] for a in assets)
    messages = world.queue_messages("CC")
    assert sorted({m["assetId"] for m in messages}) == ids  # nothing lost
    assert len(messages) - len(ids) <= PAGE  # at most the page in flight, sent again (at-least-once)
    assert all(world.item(asset)["queue"] == "CC" for asset in assets)  # each moved on once, never past CC
    notices = world.notifications(expected=len(assets))
    assert sorted({n["key"] for n in notices}) == ids
    assert len(notices) - len(ids) <= PAGE
    assert api.xcom(STATE_CHANGE, run_id, "report")["parked"] == []


def test_postingest_resender_moto_disconnected_at_the_start(api, devstack, moto, postingest_world):
    world = postingest_world
    stuck = [world.insert_asset(queue="CC", lastQueued="2020-01-01T00:00:00.000Z") for _ in range(5)]
    moto.disconnect()
    try:
        run_id = api.trigger(RESENDER)
        api.wait_for_task(RESENDER, run_id, "resend_stuck_messages", FAILED_TRY, timeout=180)
    finally:
        moto.reconnect()

    api.clear_tasks(RESENDER, run_id, ["resend_stuck_messages"], downstream=True)
    assert api.wait_for_run(RESENDER, run_id) == "success", api.task_states(RESENDER, run_id)
    messages = world.queue_messages("CC")
    assert sorted(m["assetId"] for m in messages) == sorted(a["assetId"] for a in stuck)  # each resent once
    assert all(world.item(asset)["lastQueued"] > "2020-01-01T00:00:00.000Z" for asset in stuck)
    assert api.xcom(RESENDER, run_id, "report")["queues"]["CC"]["resent"] == len(stuck)


# -- APTrust --------------------------------------------------------------------------


def test_aptrust_spot_test_restore_kafka_stopped_before_queueing(api, devstack, kafka, registry):  # noqa: F811
    seed_spot_tests(registry)
    _fresh(api, SPOT_TEST)
    devstack.stop(["kafka"])  # create_spot_tests does not use the broker: the run stops at queue_spot_tests
    try:
        run_id = api.trigger(SPOT_TEST, logical_date=NOVEMBER_RUN)
        api.wait_for_task(SPOT_TEST, run_id, "queue_spot_tests", FAILED_TRY, timeout=120)
        created = spot_tests(registry)
        assert len(created) == 2 and all(t["queued_at"] is None for t in created)
    finally:
        devstack.start(["kafka"])

    api.clear_tasks(SPOT_TEST, run_id, ["queue_spot_tests"], downstream=True)
    assert api.wait_for_run(SPOT_TEST, run_id) == "success", api.task_states(SPOT_TEST, run_id)
    tests = spot_tests(registry)
    assert [t["id"] for t in tests] == [t["id"] for t in created]  # nothing created twice
    assert all(t["queued_at"] is not None for t in tests)
    for topic, test in (("restore_glacier", tests[0]), ("restore_object", tests[1])):
        assert topic_values(kafka, topic) == [str(test["id"])]  # the broker restarted empty: queued once since


def _alert_message_ids(digests: list[dict]) -> list[str]:
    """The Message-ID of every recipient's mail of the digest alerts."""
    return sorted(
        f"<aptrust-alert-{d['id']}-{user_id}@registry.aptrust.org>" for d in digests for user_id in d["user_ids"]
    )


def test_aptrust_restore_notifications_smtp_stopped_before_sending(api, devstack, registry, mailbox):  # noqa: F811
    done, _users = seed_restores(registry)
    _fresh(api, DIGESTS)
    devstack.stop(["smtp"])  # record_digests does not use SMTP: the run stops at send_digests
    try:
        run_id = api.trigger(DIGESTS)
        api.wait_for_task(DIGESTS, run_id, "send_digests", FAILED_TRY, timeout=120)
        recorded = digest_alerts(registry)
        assert len(recorded) == 3 and all(d["sent_to"] == [] for d in recorded)
    finally:
        devstack.start(["smtp"])

    api.clear_tasks(DIGESTS, run_id, ["send_digests"], downstream=True)
    assert api.wait_for_run(DIGESTS, run_id) == "success", api.task_states(DIGESTS, run_id)
    digests = digest_alerts(registry)
    assert [d["id"] for d in digests] == [d["id"] for d in recorded]  # recorded once
    assert all(d["sent_to"] == d["user_ids"] for d in digests)
    sent = sorted(m["message"]["Message-ID"] for m in registry_mail(mailbox.messages()))
    assert sent == _alert_message_ids(digests)  # each recipient once
    assert sorted(i for d in digests for i in d["work_item_ids"]) == sorted(done.values())  # each restore once


def _seed_bulk_delete(registry) -> None:  # noqa: F811
    """The bulk-delete world, with the devstack's approver as an admin of the institution."""
    seed_bulk_delete(registry)
    [institution] = rows(registry, "SELECT id FROM institutions WHERE identifier = 'test.edu'")
    registry.user(institution["id"], APPROVER_USER)


def _approve(api, approver_api, dag_id: str, run_id: str, task_id: str) -> tuple[dict, int]:
    """Approve as the devstack's second person (a registry admin, neither the requester nor
    admin, who triggered the run), as the Required Actions page does; the response and how
    many times the task asked.

    Airflow 3.3.2 races on a fast answer: the executor reports the pausing try's exit
    (seen 6 s after the pause) and, when the scheduler has already queued the resumed try
    by then, it takes the report for a task killed externally and fails the try (the log
    says "finished with state success, but the task instance's state attribute is
    queued"); the retry asks again. A person never answers that fast; a script waits, and
    when the race is hit all the same answers the retry's request as a person would.
    """
    asked = 1
    while True:
        time.sleep(APPROVAL_SETTLE_SECONDS)
        responded = approver_api.call(
            "PATCH",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails",
            json={"chosen_options": ["Approve"], "params_input": {}},
        )
        if api.wait_for_task(dag_id, run_id, task_id, {"success"} | FAILED_TRY, timeout=120) != "up_for_retry":
            return responded, asked
        api.wait_for_task(dag_id, run_id, task_id, {"awaiting_input"}, timeout=300)
        asked += 1


def test_aptrust_bulk_delete_kafka_stopped_after_approval(api, approver_api, devstack, kafka, registry, mailbox):  # noqa: F811
    _seed_bulk_delete(registry)
    _fresh(api, BULK_DELETE)
    run_id = api.trigger(BULK_DELETE, conf={"institution": "test.edu", "requester": REQUESTER, "identifiers": ITEMS})
    api.wait_for_task(BULK_DELETE, run_id, "approve_deletion", {"awaiting_input"}, timeout=120)
    devstack.stop(["kafka"])
    try:
        responded, asked = _approve(api, approver_api, BULK_DELETE, run_id, "approve_deletion")
        api.wait_for_task(BULK_DELETE, run_id, "queue_deletions", FAILED_TRY, timeout=180)
        created = bulk_deletes(registry)
        assert len(created) == len(ITEMS) and all(d["queued_at"] is None for d in created)
    finally:
        devstack.start(["kafka"])

    api.clear_tasks(BULK_DELETE, run_id, ["queue_deletions"], downstream=True)
    assert api.wait_for_run(BULK_DELETE, run_id) == "success", api.task_states(BULK_DELETE, run_id)
    approver = responded["responded_by"]["name"]
    assert approver == APPROVER_USER != REQUESTER
    deletes = bulk_deletes(registry)
    assert [d["id"] for d in deletes] == [d["id"] for d in created]  # created once
    assert {(d["user"], d["inst_approver"]) for d in deletes} == {(REQUESTER, approver)}
    assert all(d["queued_at"] is not None for d in deletes)
    assert sorted(topic_values(kafka, "delete_item")) == sorted(str(d["id"]) for d in deletes)
    [request] = deletion_requests(registry)
    assert (request["requested_by"], request["confirmed_by"]) == (REQUESTER, approver)
    assert {d["deletion_request_id"] for d in deletes} == {request["id"]}
    mails = sorted((m["subject"], m["rcpt_tos"][0]) for m in registry_mail(mailbox.messages()))
    admins = sorted([approver, "carol@test.edu"])
    # asked once per admin however often the approval asked (retries find the run's alert), confirmed once each
    assert mails == sorted(
        [*(("Deletion Requested", a) for a in admins), *(("Deletion Confirmed", a) for a in [*admins, REQUESTER])]
    ), asked


def test_aptrust_bulk_delete_smtp_stopped_before_the_confirmation(
    api,
    approver_api,
    devstack,
    kafka,
    registry,
    mailbox,  # noqa: F811
):
    _seed_bulk_delete(registry)
    earlier = Counter(topic_values(kafka, "delete_item"))  # earlier tests' queued deletions
    _fresh(api, BULK_DELETE)
    run_id = api.trigger(BULK_DELETE, conf={"institution": "test.edu", "requester": REQUESTER, "identifiers": ITEMS})
    api.wait_for_task(BULK_DELETE, run_id, "approve_deletion", {"awaiting_input"}, timeout=120)
    requests = registry_mail(mailbox.messages())  # the approval request went out before the task paused
    assert sorted(m["rcpt_tos"][0] for m in requests) == sorted([APPROVER_USER, "carol@test.edu"])
    devstack.stop(["smtp"])
    try:
        _, asked = _approve(api, approver_api, BULK_DELETE, run_id, "approve_deletion")
        api.wait_for_task(BULK_DELETE, run_id, "send_confirmation", FAILED_TRY, timeout=180)
        queued = bulk_deletes(registry)
        assert len(queued) == len(ITEMS) and all(d["queued_at"] is not None for d in queued)
    finally:
        devstack.start(["smtp"])

    api.clear_tasks(BULK_DELETE, run_id, ["send_confirmation"], downstream=True)
    assert api.wait_for_run(BULK_DELETE, run_id) == "success", api.task_states(BULK_DELETE, run_id)
    deletes = bulk_deletes(registry)
    assert [(d["id"], d["queued_at"]) for d in deletes] == [(d["id"], d["queued_at"]) for d in queued]  # untouched
    assert _published_since(kafka, "delete_item", earlier) == sorted(str(d["id"]) for d in deletes)  # queued once
    subjects = Counter(m["subject"] for m in registry_mail(mailbox.messages()))
    assert subjects == {"Deletion Requested": 2, "Deletion Confirmed": 3}, asked  # each recipient once


# -- PostgreSQL: the registry and Airflow's metadata DB go down together ----------------
# Airflow's scheduler, dag-processor and triggerer exit when their metadata DB goes away
# (the API server stays up); AirflowCluster's supervisor starts them again, as systemd,
# Kubernetes or Astro does in a deployment.


def _riding_out(call, timeout: float = 300):
    """Repeat ``call`` (a short wait through the REST API) until it answers, riding out the
    API server's failing DB calls and the components' restarts."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except (AssertionError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _postgres_outage(api, devstack, registry, dag_id: str, run_id: str, task_id: str, seconds: float = 3.0):  # noqa: F811
    """Stop PostgreSQL once ``task_id`` runs, bring it back after ``seconds``, wait for the failed try.
    The registry fixture's connection died with the server: it gets a new one."""
    import psycopg

    api.wait_for_task(dag_id, run_id, task_id, {"running"}, timeout=180)
    devstack.stop(["postgres"])
    try:
        time.sleep(seconds)
    finally:
        devstack.start(["postgres"])
        registry.connection = psycopg.connect(devstack["postgres"].url("aptrust_registry"), autocommit=True)
    state = _riding_out(lambda: api.wait_for_task(dag_id, run_id, task_id, FAILED_TRY | {"success"}, timeout=5))
    assert state in FAILED_TRY, f"{task_id} finished before PostgreSQL was stopped: widen it"


def _clear_and_finish(api, dag_id: str, run_id: str, task_id: str) -> str:
    _riding_out(lambda: api.clear_tasks(dag_id, run_id, [task_id], downstream=True))
    return _riding_out(lambda: api.wait_for_run(dag_id, run_id, timeout=5))


def test_aptrust_spot_test_restore_postgres_stopped_mid_creation(api, devstack, kafka, registry):  # noqa: F811
    institutions = 150  # one transaction each: seconds of work to stop the server in
    for n in range(institutions):
        inst = registry.institution(f"inst-{n}.edu", spot_restore_frequency=30)
        registry.intellectual_object(inst, f"inst-{n}.edu/bag")
    earlier = Counter(topic_values(kafka, "restore_object"))  # earlier tests' queued restores
    _fresh(api, SPOT_TEST)
    run_id = api.trigger(SPOT_TEST, logical_date=NOVEMBER_RUN)
    _postgres_outage(api, devstack, registry, SPOT_TEST, run_id, "create_spot_tests")
    half = spot_tests(registry)
    assert len({t["institution"] for t in half}) == len(half)

    finished = _clear_and_finish(api, SPOT_TEST, run_id, "create_spot_tests")
    assert finished == "success", api.task_states(SPOT_TEST, run_id)
    tests = spot_tests(registry)
    assert sorted(t["institution"] for t in tests) == sorted(f"inst-{n}.edu" for n in range(institutions))
    assert {t["id"] for t in half} <= {t["id"] for t in tests}  # what committed before the outage was kept
    assert all(t["queued_at"] is not None and t["last"] == t["id"] for t in tests)
    orphans = rows(
        registry,
        "SELECT w.id FROM work_items w LEFT JOIN spot_test_restores s ON s.work_item_id = w.id "
        "WHERE w.action = 'Restore Object' AND s.work_item_id IS NULL",
    )
    assert orphans == []  # no WorkItem without its spot-test row: nothing half-written
    assert _published_since(kafka, "restore_object", earlier) == sorted(str(t["id"]) for t in tests)


def test_aptrust_restore_notifications_postgres_stopped_mid_sending(api, devstack, registry, mailbox):  # noqa: F811
    institutions = 120  # one digest each: seconds of sending to stop the server in
    restores = []
    for n in range(institutions):
        inst = registry.institution(f"inst-{n}.edu")
        registry.user(inst, f"ann@inst-{n}.edu")  # the requester, an admin: one recipient each
        bag = registry.intellectual_object(inst, f"inst-{n}.edu/bag")
        restores.append(
            registry.work_item(
                inst,
                bag,
                "Restore Object",
                "Success",
                user=f"ann@inst-{n}.edu",
                note=f"restored to s3://restore.inst-{n}.edu/bag.tar",
            )
        )
    _fresh(api, DIGESTS)
    run_id = api.trigger(DIGESTS)
    _postgres_outage(api, devstack, registry, DIGESTS, run_id, "send_digests")

    finished = _clear_and_finish(api, DIGESTS, run_id, "send_digests")
    assert finished == "success", api.task_states(DIGESTS, run_id)
    digests = digest_alerts(registry)
    assert len(digests) == institutions and all(d["sent_to"] == d["user_ids"] != [] for d in digests)
    assert sorted(i for d in digests for i in d["work_item_ids"]) == sorted(restores)  # each restore in one digest
    sent = [m["message"]["Message-ID"] for m in registry_mail(mailbox.messages())]
    assert sorted(set(sent)) == _alert_message_ids(digests)  # every digest delivered
    assert len(sent) - len(set(sent)) <= 1  # at most the one in flight again, with its Message-ID
