"""aspace2alma end to end on the devstack (real sshd, the ArchivesSpace stand-in, dag.test())."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from include.common.eastern_time import EASTERN
from tests.dags.aspace2alma_support import (  # noqa: F401 - fixtures
    DATASET,
    FRIDAY,
    REPORT_BARCODES,
    THURSDAY,
    WEDNESDAY,
    dropbox,
    expected_export,
    exported_records,
    items_of,
    no_runs,
    standin,
    write_report,
)
from tests.dags.helpers import asset_events, load_dag, run_dag, task_states, xcom_return

pytestmark = pytest.mark.usefixtures("no_runs")


def _without_retries(dag):
    for task in dag.tasks:
        task.retries = 0
    return dag


def test_exports_every_selected_record_with_its_items_and_consumes_the_report(standin, dropbox):
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")
    write_report(dropbox)

    dag_run = run_dag("aspace2alma", logical_date=FRIDAY)

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert (dropbox / "MARC_out_old.xml").read_text() == "<collection>yesterday</collection>"
    assert not (dropbox / "sc_active_barcodes.csv").exists()
    assert (dropbox / "sc_active_barcodes_old.csv").exists()
    records = exported_records(dropbox)
    expected = expected_export()
    assert list(records) == list(expected)
    assert {cn: items_of(r) for cn, r in records.items()} == expected
    summary = xcom_return(dag_run, "export_to_alma")
    assert summary["resources_written"] == len(records)
    assert (
        summary["resources_seen"]
        == 48
        == (summary["resources_written"] + summary["resources_excluded"] + summary["resources_errored"])
    )
    assert summary["items_created"] == sum(len(items) for items in expected.values())
    assert summary["report_barcodes"] == len(REPORT_BARCODES)
    assert summary["bytes_uploaded"] == (dropbox / "MARC_out.xml").stat().st_size
    assert not [p for p in dropbox.iterdir() if p.name.endswith(".part")]
    assert asset_events(dag_run) == ["x-sftp://lib_sftp/alma/aspace/MARC_out.xml"]  # the Assets view's lineage
    stats = standin.admin("stats")
    assert stats["requests"]["marc"] == 48
    assert stats["requests"]["top_containers"] == summary["resources_written"]
    assert stats["unpublished_marc_requests"] == 0
    assert xcom_return(dag_run, "consume_report")["barcodes"] == len(REPORT_BARCODES)


def test_a_failed_export_leaves_no_marc_out_for_alma(standin, dropbox):
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")
    write_report(dropbox)
    standin.admin("faults", {"down": True})
    dag_run = _without_retries(load_dag("aspace2alma")).test(logical_date=FRIDAY, run_after=FRIDAY)

    assert str(dag_run.state) == "failed"
    assert task_states(dag_run)["export_to_alma"] == "failed"
    assert not (dropbox / "MARC_out.xml").exists()
    assert (dropbox / "MARC_out_old.xml").read_text() == "<collection>yesterday</collection>"
    assert not [p for p in dropbox.iterdir() if p.name.endswith(".part")]


def test_clearing_the_whole_run_the_same_day_reuses_the_consumed_report_without_duplicates(standin, dropbox):
    write_report(dropbox)
    first = run_dag("aspace2alma", logical_date=FRIDAY)
    assert str(first.state) == "success"
    first_records = exported_records(dropbox)

    again = run_dag("aspace2alma", logical_date=FRIDAY)  # dag.test clears and re-runs the whole run

    assert str(again.state) == "success", task_states(again)
    assert exported_records(dropbox).keys() == first_records.keys()
    assert {cn: items_of(r) for cn, r in exported_records(dropbox).items()} == expected_export()


@pytest.mark.parametrize("task_id", ["check_superseded", "wait_for_report", "consume_report", "export_to_alma"])
def test_clearing_one_task_and_re_running_it(standin, dropbox, task_id):
    write_report(dropbox)
    assert str(run_dag("aspace2alma", logical_date=FRIDAY).state) == "success"

    others = f"^(?!{task_id}$)"  # every other task keeps its success, only task_id runs again
    dag_run = load_dag("aspace2alma").test(logical_date=FRIDAY, run_after=FRIDAY, mark_success_pattern=others)

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert {cn: items_of(r) for cn, r in exported_records(dropbox).items()} == expected_export()


def test_a_report_from_before_the_run_day_is_never_used(standin, dropbox):
    thursday_delivery = FRIDAY - timedelta(hours=20)
    write_report(dropbox, name="sc_active_barcodes_old.csv", modified=thursday_delivery)
    write_report(dropbox, modified=thursday_delivery)
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")

    dag_run = _without_retries(load_dag("aspace2alma")).test(logical_date=FRIDAY, run_after=FRIDAY)

    assert str(dag_run.state) == "failed"
    assert task_states(dag_run)["wait_for_report"] == "failed"
    assert task_states(dag_run)["export_to_alma"] == "upstream_failed"
    assert not (dropbox / "MARC_out.xml").exists()
    assert standin.admin("stats")["requests"]["marc"] == 0


def test_the_sensor_defers_until_the_report_lands(standin, dropbox):
    import threading

    now = datetime.now(UTC).replace(microsecond=0)
    local = now.astimezone(EASTERN)
    conf = {"report_fresh_after": local.strftime("%H:%M"), "report_cutoff": "23:59"}
    if local.strftime("%H:%M") == "23:59":
        pytest.skip("one minute before Eastern midnight")
    dag = load_dag("aspace2alma")
    dag.get_task("wait_for_report").poke_interval = 1
    landing = threading.Timer(3, write_report, args=(dropbox,))
    landing.start()
    try:
        dag_run = dag.test(logical_date=now, run_after=now, run_conf=conf)
    finally:
        landing.cancel()

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert xcom_return(dag_run, "wait_for_report")["path"] == "/alma/aspace/sc_active_barcodes.csv"
    assert exported_records(dropbox)


def test_a_truncated_report_fails_naming_both_counts_and_the_override_accepts_it(standin, dropbox):
    write_report(dropbox)
    assert str(run_dag("aspace2alma", logical_date=THURSDAY).state) == "success"
    write_report(dropbox, REPORT_BARCODES[: len(REPORT_BARCODES) // 2])

    dag = _without_retries(load_dag("aspace2alma"))
    refused = dag.test(logical_date=FRIDAY, run_after=FRIDAY)

    assert str(refused.state) == "failed"
    assert task_states(refused)["consume_report"] == "failed"
    assert not (dropbox / "MARC_out.xml").exists()

    accepted = dag.test(logical_date=FRIDAY, run_after=FRIDAY, run_conf={"accept_short_report": True})
    assert str(accepted.state) == "success", task_states(accepted)
    assert xcom_return(accepted, "export_to_alma")["report_barcodes"] == len(REPORT_BARCODES) // 2


def test_a_backfill_over_three_missed_days_exports_once(standin, dropbox):
    from airflow.models.backfill import _create_backfill

    write_report(dropbox)
    load_dag("aspace2alma")  # dag.test below syncs it; the backfill needs it serialized first
    run_dag("aspace2alma_skip_day_cleanup", logical_date=WEDNESDAY)  # any dag.test syncs the bundle
    _create_backfill(
        dag_id="aspace2alma", from_date=WEDNESDAY, to_date=FRIDAY, max_active_runs=1, reverse=False,
        dag_run_conf={}, triggering_user_name="test",
    )  # fmt: skip
    states = {}
    for day in (WEDNESDAY, THURSDAY, FRIDAY):
        dag_run = run_dag("aspace2alma", logical_date=day)
        assert str(dag_run.state) == "success", task_states(dag_run)
        states[day.date().isoformat()] = task_states(dag_run)["export_to_alma"]

    assert states == {"2026-11-18": "skipped", "2026-11-19": "skipped", "2026-11-20": "success"}
    assert standin.admin("stats")["requests"]["marc"] == 48  # one export
    assert exported_records(dropbox)


def test_transient_faults_and_hostile_records_are_retried_or_skipped(standin, dropbox):
    write_report(dropbox)
    hostile = [2, 5]  # normal records of the default dataset: one billion laughs, one external entity
    standin.admin("faults", {
        "seed": 3, "error_5xx": {"rate": 0.1}, "reset": {"rate": 0.03},
        "hostile_xml": {"resource_ids": hostile, "variant": "mixed"},
    })  # fmt: skip

    dag_run = run_dag("aspace2alma", logical_date=FRIDAY)

    _assert_red_after_the_upload(dag_run)
    summary = xcom_return(dag_run, "export_to_alma")
    assert {f"/repositories/2/resources/{n}" for n in hostile} <= set(summary["failed"])
    expected = expected_export()
    records = exported_records(dropbox)
    assert len(records) == len(expected) - 2
    assert all(items_of(record) == expected[cn] for cn, record in records.items())
    assert standin.admin("stats")["faults"].get("error_5xx", 0) > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the report is empty"), (b"\xef\xbb\xbf32101000000001\n", "expected the header 'Barcode'")],
    ids=["empty", "no-header"],
)
def test_an_unusable_report_fails_clearly_and_nothing_is_uploaded(standin, dropbox, content, message, capfd):
    (dropbox / "sc_active_barcodes.csv").write_bytes(content)

    dag_run = _without_retries(load_dag("aspace2alma")).test(logical_date=FRIDAY, run_after=FRIDAY)

    assert str(dag_run.state) == "failed"
    assert task_states(dag_run)["consume_report"] == "failed"
    task_log = "".join(capfd.readouterr())
    assert "/alma/aspace/sc_active_barcodes_old.csv: " in task_log and message in task_log
    assert not (dropbox / "MARC_out.xml").exists()
    assert standin.admin("stats")["requests"]["marc"] == 0


def _assert_red_after_the_upload(dag_run) -> None:
    """The file went out (``export_to_alma`` green), then ``run_summary`` failed the run."""
    states = task_states(dag_run)
    assert str(dag_run.state) == "failed", states
    assert states["export_to_alma"] == "success" and states["run_summary"] == "failed", states


def _written_with_items(count):
    """Resources of /repositories/2 written with 949s: each has containers, and missing it changes the file."""
    facts = [DATASET.resource(*ref) for ref in DATASET.iter_resources()]
    report = frozenset(REPORT_BARCODES)
    return [f.resource_id for f in facts if f.repo_id == 2 and f.is_exported and f.expected_items(report)][:count]


def test_one_bad_container_and_one_bad_resource_leave_a_file_with_all_the_good_ones_naming_both(standin, dropbox):
    write_report(dropbox)
    bad_container, bad_record = _written_with_items(2)
    standin.admin("faults", {
        "hostile_container": {"resource_ids": [bad_container], "variant": "control_character"},
        "invalid_xml": {"resource_ids": [bad_record]},
    })  # fmt: skip

    dag_run = run_dag("aspace2alma", logical_date=FRIDAY)

    _assert_red_after_the_upload(dag_run)
    skipped = {DATASET.resource(2, n).call_number for n in (bad_container, bad_record)}
    expected = {cn: items for cn, items in expected_export().items() if cn not in skipped}
    assert {cn: items_of(record) for cn, record in exported_records(dropbox).items()} == expected
    summary = xcom_return(dag_run, "export_to_alma")
    assert summary["resources_failed"] == 2
    container_reason = summary["errored"][f"/repositories/2/resources/{bad_container}"]
    assert container_reason.startswith(f"AspaceDataError: GET /repositories/2/top_containers/search for /repositories/2/resources/{bad_container}: top container /repositories/2/top_containers/")  # fmt: skip
    assert "holds U+000B, which an XML record cannot carry" in container_reason
    assert summary["errored"][f"/repositories/2/resources/{bad_record}"].startswith("MarcXmlError: ")


def test_failures_above_max_failed_ratio_fail_the_export_at_once_listing_them_and_upload_nothing(
    standin, dropbox, capfd
):
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")
    write_report(dropbox)
    broken = _written_with_items(2)  # 2 of 48: 4.2%, above the 2% asked for
    standin.admin("faults", {"invalid_xml": {"resource_ids": broken}})

    dag_run = run_dag("aspace2alma", logical_date=FRIDAY, conf={"max_failed_ratio": 0.02})  # retries left: 3

    assert str(dag_run.state) == "failed"
    assert task_states(dag_run)["export_to_alma"] == "failed"
    assert _try_number(dag_run, "export_to_alma") == 1
    task_log = "".join(capfd.readouterr())
    assert "2 of 48 resources failed (4.2%), above the limit of 2.0%" in task_log
    assert all(f"/repositories/2/resources/{n}: MarcXmlError: " in task_log for n in broken)
    assert not (dropbox / "MARC_out.xml").exists()
    assert standin.admin("stats")["requests"]["marc"] == 48  # exported once, not retried


def test_every_number_param_is_bounded_in_the_form():
    from airflow.sdk.definitions.param import ParamValidationError

    params = load_dag("aspace2alma").params
    numbers = {name for name in params if params.get_param(name).schema.get("type") in ("integer", "number")}
    assert numbers == {"concurrency", "min_report_ratio", "max_failed_ratio"}
    for name in numbers:
        param = params.get_param(name)
        assert param.resolve(param.schema["maximum"]) == param.schema["maximum"]
        for refused in (param.schema["minimum"] - 1, param.schema["maximum"] + 1):
            with pytest.raises(ParamValidationError):
                param.resolve(refused)


def _try_number(dag_run, task_id):
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id).one()
        return ti.try_number
