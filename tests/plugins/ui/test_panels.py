"""Each panel of the Pipelines view against the real servers, on `make run`'s demo data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from include.aspace2alma.dropbox import DROPBOX_FOLDER, REPORT_NAME
from include.merritt.layout import INGEST_QUEUE_LOCK, collection_lock
from preservation_pipelines.ui import panels
from preservation_pipelines.ui.model import Code, Link
from tests.plugins.ui.support import demo  # noqa: F401 - fixture


def _table(result, title: str):
    return next(table for table in result.tables if table.title.startswith(title))


def _text(cells) -> list[str]:
    return [cell.text if isinstance(cell, (Link, Code)) else str(cell) for cell in cells]


@pytest.fixture
def zk_client(zookeeper):
    from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperHook

    with MerrittZooKeeperHook() as hook:
        yield hook.get_conn()


def test_merritt_shows_states_holds_the_freeze_and_failed_jobs_with_admin_confs(demo, zk_client):
    zk_client.ensure_path(collection_lock("demo_profile_held"))
    zk_client.ensure_path(INGEST_QUEUE_LOCK)
    try:
        result = panels.merritt()
    finally:
        zk_client.delete(collection_lock("demo_profile_held"))
        zk_client.delete(INGEST_QUEUE_LOCK)

    jobs = dict(_table(result, "Jobs per state").rows)
    assert jobs["Completed"] >= 2 and jobs["Failed"] >= 1
    assert dict(_table(result, "Batches per state").rows)["Processing"] >= 1
    assert ("Ingest", "frozen (/locks/queue/ingest exists): workers and reporters skip their polls") in result.facts
    held = _table(result, "Held collections").rows
    assert [
        "demo_profile_held",
        "release_collection",
        '{"action": "release_collection", "target": "demo_profile_held"}',
    ] in [_text(row) for row in held]
    failed = [_text(row) for row in _table(result, "Failed jobs").rows]
    demo_failure = next(row for row in failed if "object3.checkm: 404 Not Found" in row[2])
    jid = demo_failure[0]
    assert demo_failure[5:7] == ["requeue_job", json.dumps({"action": "requeue_job", "target": jid})]
    assert demo_failure[7] == "delete_job"
    link = next(row for row in _table(result, "Failed jobs").rows if row[0] == jid)[5]
    assert link.href.startswith("../dags/merritt_queue_admin?conf=") and link.top


def test_postingest_counts_items_and_stale_items_per_queue_and_lists_parked_records(demo, moto):
    from devstack.demo_seed_postingest import STUCK_ASSETS
    from include.postingest.checkpoints import parked_key
    from include.postingest.names import CHECKPOINT_TABLE, STATE_TABLE
    from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook

    hook = PostingestStateHook(aws_conn_id="aws_default", table_name=STATE_TABLE, checkpoint_table=CHECKPOINT_TABLE)
    hook.ensure_checkpoint_table()
    parked = {
        "pk": parked_key(STATE_TABLE),
        "sk": "shard-ui#0001",
        "assetId": "asset-ui-parked",
        "batchId": "batch-ui",
        "sequenceNumber": "0001",
        "eventName": "MODIFY",
        "error": "newImage.queue: a set, not a string",
        "parkedAt": "2026-12-01T10:00:00.000Z",
    }
    hook.checkpoints.put_item(Item=parked)
    try:
        result = panels.postingest()
    finally:
        hook.checkpoints.delete_item(Key={"pk": parked["pk"], "sk": parked["sk"]})

    queues = {row[0]: row for row in _table(result, "Items per queue").rows}
    assert queues["CC"][2] >= STUCK_ASSETS  # each seeding adds its stuck assets (from June 2025)
    assert queues["CC"][1] >= queues["CC"][2]
    assert queues["CC"][3].startswith("lastQueued before ")
    assert queues["TC"][2] == 0
    assert [
        "asset-ui-parked",
        "batch-ui",
        "MODIFY",
        "2026-12-01T10:00:00.000Z",
        "newImage.queue: a set, not a string",
    ] in [_text(row) for row in _table(result, "Parked records").rows]


def test_postingest_reads_the_tables_the_dags_read(demo, moto, monkeypatch):
    from include.postingest.limits import InvalidParameterError

    monkeypatch.setenv("AIRFLOW_VAR_POSTINGEST_STATE_TABLE", "dr2-ui-elsewhere")
    with pytest.raises(Exception, match="ResourceNotFoundException"):  # not the demo's table, which exists
        panels.postingest()
    monkeypatch.setenv("AIRFLOW_VAR_POSTINGEST_STATE_TABLE", "no spaces allowed")
    with pytest.raises(InvalidParameterError, match="Variable postingest_state_table 'no spaces allowed'"):
        panels.postingest()


def test_aptrust_registry_shows_this_months_spot_tests_and_alert_mail_not_sent(demo, postgres):
    from devstack.demo_seed_aptrust import DEMO_INSTITUTION
    from include.aptrust.alerts import INSTITUTION_AUDIENCE, PlannedAlert
    from include.aptrust.mail import RESTORATION_COMPLETED
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

    hook = AptrustRegistryHook()
    [admin] = hook.query(
        "SELECT u.id, u.email, u.institution_id FROM users u JOIN institutions i ON i.id = u.institution_id "
        "WHERE i.identifier = %(identifier)s AND u.role = 'institutional_admin' ORDER BY u.id LIMIT 1",
        {"identifier": DEMO_INSTITUTION},
    )
    recorded = {}
    with hook.transaction() as cursor:
        for subject in ("Restores <ui-unsent>", "Restores <ui-failed>"):
            alert = PlannedAlert(
                type=RESTORATION_COMPLETED,
                subject=subject,
                institution_id=admin["institution_id"],
                institution=DEMO_INSTITUTION,
                audience=INSTITUTION_AUDIENCE,
                content="body",
                user_ids=(admin["id"],),
                linked_ids=(),
            )
            recorded[subject] = hook.insert_alert(cursor, alert, dag_id="ui_test", dag_run_id="manual__ui")
        cursor.execute(
            "INSERT INTO dag_alert_delivery_errors (alert_id, user_id, error) VALUES (%s, %s, '550 mailbox unavailable')",
            (recorded["Restores <ui-failed>"], admin["id"]),
        )
    result = panels.aptrust_registry()

    spot_tests = {row[0]: row for row in _table(result, "Spot tests of").rows}
    assert spot_tests[DEMO_INSTITUTION][1] == "none yet"
    mail = {row[3]: row for row in map(_text, _table(result, "Mail not sent").rows)}
    assert mail["Restores <ui-unsent>"][:5] == [
        str(recorded["Restores <ui-unsent>"]),
        RESTORATION_COMPLETED,
        DEMO_INSTITUTION,
        "Restores <ui-unsent>",
        admin["email"],
    ]
    assert mail["Restores <ui-unsent>"][6] == "waiting to be sent"
    assert mail["Restores <ui-failed>"][6] == "failed: 550 mailbox unavailable"


def test_aptrust_approvals_without_waiting_requests(airflow_db):
    result = panels.aptrust_approvals()

    assert _table(result, "Waiting for approval").rows == []
    assert result.facts == [("All waiting requests", Link("Required actions", "../required_actions"))]


def test_aspace2alma_lists_the_drop_box_and_says_todays_report_arrived(demo, sftp):
    result = panels.aspace2alma_dropbox()

    files = {row[0]: row for row in _table(result, "Files").rows}
    report = sftp.local_path(f"{DROPBOX_FOLDER}/{REPORT_NAME}")
    assert files[f"{DROPBOX_FOLDER}/{REPORT_NAME}"][1] == report.stat().st_size
    fact = dict(result.facts)
    assert next(value for name, value in fact.items() if name.startswith("Today's report")).startswith(
        "arrived, waiting for the export"
    )


def test_aspace2alma_report_not_arrived_when_older_than_today(demo, sftp):
    import os

    report = sftp.local_path(f"{DROPBOX_FOLDER}/{REPORT_NAME}")
    stat = report.stat()
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(report, (two_days_ago, two_days_ago))
    try:
        result = panels.aspace2alma_dropbox()
    finally:
        os.utime(report, (stat.st_atime, stat.st_mtime))

    today = next(value for name, value in result.facts if name.startswith("Today's report"))
    assert today.startswith("not arrived: the report is from ")


def test_aspace2alma_lists_the_folder_the_dags_use(demo, sftp, monkeypatch):
    elsewhere = sftp.local_path("/alma/aspace").parent / "elsewhere-panel"
    elsewhere.mkdir(exist_ok=True)
    (elsewhere / "MARC_out.xml").write_text("<collection/>")
    monkeypatch.setenv("AIRFLOW_VAR_ASPACE2ALMA_DROPBOX_FOLDER", "/alma/elsewhere-panel")
    try:
        result = panels.aspace2alma_dropbox()
    finally:
        (elsewhere / "MARC_out.xml").unlink()
        elsewhere.rmdir()

    assert [row[0] for row in _table(result, "Files").rows] == ["/alma/elsewhere-panel/MARC_out.xml"]
    assert ("Folder", "/alma/elsewhere-panel on lib_sftp") in result.facts


def test_aspace2alma_refuses_a_folder_variable_outside_the_drop_box(demo, monkeypatch):
    from include.aspace2alma.dropbox import DropBoxFolderError

    monkeypatch.setenv("AIRFLOW_VAR_ASPACE2ALMA_DROPBOX_FOLDER", "/alma/../etc")
    with pytest.raises(DropBoxFolderError, match="aspace2alma_dropbox_folder"):
        panels.aspace2alma_dropbox()
