"""aspace2alma, its cleanup and its deadline check under the real scheduler, triggerer and
executor, driven through the REST API as an operator would; asserted on the SFTP drop box
and the mail sink."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from include.common.run_note import SUMMARY_HEADING
from tests.dags.aspace2alma_support import (  # noqa: F401 - fixtures
    FRIDAY,
    WEDNESDAY,
    dropbox,
    expected_export,
    exported_records,
    standin,
    write_report,
)
from tests.dags.test_aspace2alma_deadline_check import FRIDAY_1030
from tests.ops.aspace2alma_ops_support import CLEANUP, DELIVERED, EXPORT, WAIT_ALL_DAY, fresh_dags  # noqa: F401

EASTERN = ZoneInfo("America/New_York")
DEADLINE = "aspace2alma_deadline_check"
PRINTED_DATE = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\+00:00)?")


def _export_is_complete(folder) -> None:
    records = exported_records(folder)
    assert list(records) == list(expected_export())


def test_a_triggered_run_exports_and_a_whole_run_clear_redoes_it_without_duplicates(fresh_dags, standin, dropbox):
    api = fresh_dags
    write_report(dropbox, modified=DELIVERED[FRIDAY])

    run_id = api.trigger(EXPORT, logical_date=FRIDAY)
    assert api.wait_for_run(EXPORT, run_id) == "success", api.task_states(EXPORT, run_id)
    _export_is_complete(dropbox)
    first_summary = api.xcom(EXPORT, run_id, "export_to_alma")

    api.clear_run(EXPORT, run_id)
    assert api.wait_for_run(EXPORT, run_id) == "success", api.task_states(EXPORT, run_id)
    _export_is_complete(dropbox)
    assert api.xcom(EXPORT, run_id, "export_to_alma")["items_created"] == first_summary["items_created"]
    assert not (dropbox / "sc_active_barcodes.csv").exists()
    note = api.run(EXPORT, run_id)["note"]  # the summary on the run itself, by the run-notes plugin
    assert note.startswith(SUMMARY_HEADING) and f"- items\\_created: {first_summary['items_created']}" in note


def test_archivesspace_down_mid_run_then_back_and_the_failed_task_cleared(fresh_dags, standin, dropbox):
    api = fresh_dags
    write_report(dropbox, modified=DELIVERED[FRIDAY])
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")
    standin.admin("faults", {"down": True})

    run_id = api.trigger(EXPORT, logical_date=FRIDAY)
    api.wait_for_task(EXPORT, run_id, "export_to_alma", {"up_for_retry", "failed"}, timeout=240)
    assert not (dropbox / "MARC_out.xml").exists(), "a failed run must leave nothing for Alma"

    standin.admin("faults", {"down": False})
    api.clear_tasks(EXPORT, run_id, ["export_to_alma"], downstream=True)
    assert api.wait_for_run(EXPORT, run_id) == "success", api.task_states(EXPORT, run_id)
    _export_is_complete(dropbox)
    assert (dropbox / "MARC_out_old.xml").read_text() == "<collection>yesterday</collection>"


def test_the_report_sensor_waits_in_the_triggerer_without_a_worker_slot(fresh_dags, standin, dropbox):
    api = fresh_dags
    run_id = api.trigger(EXPORT, logical_date=datetime.now(UTC), conf=WAIT_ALL_DAY)

    api.wait_for_task(EXPORT, run_id, "wait_for_report", {"deferred"}, timeout=180)
    pool = api.call("GET", "/pools/default_pool")
    # the deferred sensor is counted, but holds no slot: nothing runs, every slot is open
    assert (pool["deferred_slots"], pool["running_slots"], pool["open_slots"]) == (1, 0, pool["slots"]), pool

    write_report(dropbox)
    assert api.wait_for_run(EXPORT, run_id, timeout=300) == "success", api.task_states(EXPORT, run_id)
    _export_is_complete(dropbox)


def test_a_backfill_over_three_missed_days_exports_once(fresh_dags, standin, dropbox):
    api = fresh_dags
    write_report(dropbox, modified=DELIVERED[FRIDAY])

    api.create_backfill(EXPORT, WEDNESDAY - timedelta(hours=1), FRIDAY + timedelta(hours=1), max_active_runs=1)
    runs = _wait_for_runs(api, EXPORT, 3)

    assert [run["state"] for run in runs] == ["success"] * 3
    exported = [run for run in runs if api.task_states(EXPORT, run["dag_run_id"])["export_to_alma"] == "success"]
    assert [run["logical_date"][:10] for run in exported] == ["2026-11-20"]
    _export_is_complete(dropbox)
    standin_stats = standin.admin("stats")
    assert standin_stats["requests"]["repositories"] == 1, "only the newest run may export"


def test_a_backfilled_cleanup_never_deletes_a_file_written_on_its_day(fresh_dags, dropbox):
    api = fresh_dags
    saturday = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
    marc_out = dropbox / "MARC_out.xml"
    marc_out.write_text("<collection/>")
    written = datetime(2026, 11, 21, 14, 0, tzinfo=UTC).timestamp()  # Saturday 09:00 Eastern
    os.utime(marc_out, (written, written))

    api.create_backfill(CLEANUP, saturday - timedelta(hours=1), saturday + timedelta(hours=1))
    (saturday_run,) = _wait_for_runs(api, CLEANUP, 1)
    assert saturday_run["state"] == "success"
    assert marc_out.exists(), "the Saturday cleanup kept Saturday's file"

    run_id = api.trigger(CLEANUP, logical_date=datetime.now(UTC))
    assert api.wait_for_run(CLEANUP, run_id) == "success"
    assert not marc_out.exists(), "a cleanup run today removed Saturday's file"


def test_marking_a_run_success_stops_it_and_leaves_the_drop_box_alone(fresh_dags, dropbox):
    api = fresh_dags
    run_id = api.trigger(EXPORT, logical_date=datetime.now(UTC), conf=WAIT_ALL_DAY)
    api.wait_for_task(EXPORT, run_id, "wait_for_report", {"deferred"}, timeout=180)

    api.mark_run(EXPORT, run_id, "success")

    assert api.run(EXPORT, run_id)["state"] == "success"
    assert not (dropbox / "MARC_out.xml").exists()
    assert not (dropbox / "sc_active_barcodes_old.csv").exists()


def test_the_scheduler_puts_runs_at_0530_eastern_across_dst(fresh_dags, airflow_cluster):
    """`airflow dags next-execution` (the scheduler's own computation) reaches past 2027-03-14."""
    env = {**os.environ, **airflow_cluster.env}
    for dag_id, count, weekdays in ((EXPORT, 100, {6, 1, 2, 3, 4}), (CLEANUP, 45, {0, 5})):
        output = subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "next-execution", dag_id, "-n", str(count)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        instants = [datetime.fromisoformat(line) for line in output.splitlines() if PRINTED_DATE.fullmatch(line)]
        assert len(instants) == count, output
        for instant in instants:
            eastern = instant.astimezone(EASTERN)
            assert (eastern.hour, eastern.minute, eastern.weekday() in weekdays) == (5, 30, True), instant
        utc_times = {instant.astimezone(UTC).strftime("%H:%M") for instant in instants}
        assert utc_times == {"10:30", "09:30"}, "runs on both sides of the DST change"
        assert datetime.fromisoformat(fresh_dags.dag(dag_id)["next_dagrun_run_after"]) == instants[0]


def _wait_for_runs(api, dag_id: str, count: int, timeout: float = 600) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        runs = api.runs(dag_id)
        if len(runs) >= count and all(run["state"] in ("success", "failed") for run in runs):
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{dag_id}: runs not finished after {timeout}s: {[(r['dag_run_id'], r['state']) for r in runs]}"
            )
        time.sleep(2)


def test_deadline_check_with_smtp_stopped_retries_then_alerts_once_and_fails_red(
    fresh_dags, airflow_cluster, devstack, smtp
):
    api = fresh_dags  # no aspace2alma run left: that day's export is not done
    api.wait_for_dag(DEADLINE)
    api.unpause(DEADLINE)
    for run in api.runs(DEADLINE):
        api.call("DELETE", f"/dags/{DEADLINE}/dagRuns/{run['dag_run_id']}")
    api.set_variable("aspace2alma_alert_to", f"archives-ops-{uuid.uuid4().hex[:8]}@example.org")
    # an AIRFLOW_VAR_ in the components' environment (airflow_settings.yaml) shadows the metastore
    to = (
        airflow_cluster.env.get("AIRFLOW_VAR_ASPACE2ALMA_ALERT_TO")
        or api.call("GET", "/variables/aspace2alma_alert_to")["value"]
    )
    first_recipient = to.split(",")[0].strip()
    mails_before = len(_alerts(smtp, first_recipient))
    devstack.stop(["smtp"])
    try:
        run_id = api.trigger(DEADLINE, logical_date=FRIDAY_1030)
        api.wait_for_task(DEADLINE, run_id, "check_export_done", {"up_for_retry"}, timeout=120)  # transient
    finally:
        devstack.start(["smtp"])
    assert len(_alerts(smtp, first_recipient)) == mails_before

    api.clear_tasks(DEADLINE, run_id, ["check_export_done"])
    assert api.wait_for_run(DEADLINE, run_id, timeout=180) == "failed", api.task_states(DEADLINE, run_id)
    assert api.task_states(DEADLINE, run_id) == {"check_export_done": "failed"}  # red, not retried
    subjects = [m["subject"] for m in smtp.messages() if first_recipient in m["to"]]
    assert len(_alerts(smtp, first_recipient)) == mails_before + 1, subjects  # the alert, once


def _alerts(smtp, address: str) -> list[dict]:
    """The deadline alerts about 2026-11-20 to ``address`` (not the failure notices of other runs)."""
    from preservation_pipelines.aspace2alma.notifiers.deadline import SUBJECT

    return [m for m in smtp.messages() if address in m["to"] and m["subject"] == SUBJECT and "2026-11-20" in m["body"]]
