"""The aspace2alma DAGs' timetables as Airflow's scheduler, serialization and backfill use them.

Each DAG is parsed from dags/aspace2alma.py and put through Airflow's DAG
serialization, so the timetable under test is the one the scheduler runs.
"""

from __future__ import annotations

import json

import pendulum
import pytest
import time_machine

from devstack.settings import REPO_ROOT
from include.aspace2alma.schedule import CLEANUP_SCHEDULE, DEADLINE_SCHEDULE, EXPORT_SCHEDULE, fire_instants
from include.common.eastern_time import EASTERN_TIMEZONE

SCHEDULES = {
    "aspace2alma": EXPORT_SCHEDULE,
    "aspace2alma_skip_day_cleanup": CLEANUP_SCHEDULE,
    "aspace2alma_deadline_check": DEADLINE_SCHEDULE,
}


def utc(text: str) -> pendulum.DateTime:
    return pendulum.parse(text).in_timezone("UTC")


@pytest.fixture(scope="module")
def parsed():
    """{dag_id: (the DAG as parsed, its JSON serialization, the DAG the scheduler deserializes)}."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags" / "aspace2alma.py"))
    assert bag.import_errors == {}
    result = {}
    for dag_id in SCHEDULES:
        stored = json.loads(json.dumps(DagSerialization.to_dict(bag.dags[dag_id])))
        result[dag_id] = (bag.dags[dag_id], stored, DagSerialization.from_dict(stored))
    return result


@pytest.fixture(scope="module")
def export(parsed):
    """The timetable the scheduler runs ``aspace2alma`` on."""
    return parsed["aspace2alma"][2].timetable


def scheduled_runs(timetable, earliest: str, latest: str):
    """Every run the scheduler would create between two instants, with catchup on."""
    from airflow.timetables.base import TimeRestriction

    restriction = TimeRestriction(earliest=utc(earliest), latest=utc(latest), catchup=True)
    runs, last_interval = [], None
    while info := timetable.next_dagrun_info(last_automated_data_interval=last_interval, restriction=restriction):
        runs.append(info)
        last_interval = info.data_interval
    return runs


def next_run(timetable, *, last_end=None, earliest=None, latest=None, catchup=False):
    from airflow.timetables.base import DataInterval, TimeRestriction

    return timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(utc(last_end), utc(last_end)) if last_end else None,
        restriction=TimeRestriction(
            earliest=utc(earliest) if earliest else None,
            latest=utc(latest) if latest else None,
            catchup=catchup,
        ),
    )


@pytest.mark.parametrize("dag_id", SCHEDULES)
def test_each_dag_runs_on_airflows_cron_trigger_timetable_of_its_schedule(parsed, dag_id):
    _, stored, _ = parsed[dag_id]

    assert stored["dag"]["timetable"]["__type"] == "airflow.timetables.trigger.CronTriggerTimetable"
    assert stored["dag"]["timetable"]["__var"]["expression"] == SCHEDULES[dag_id].cron
    assert stored["dag"]["timetable"]["__var"]["timezone"] == EASTERN_TIMEZONE


@pytest.mark.parametrize("dag_id", SCHEDULES)
def test_the_scheduler_fires_where_the_superseded_check_expects_dated_at_each_fire(parsed, dag_id):
    """Two years across four DST changes: the scheduler's runs are the schedule's fire instants."""
    earliest, latest = "2026-01-01T00:00-05:00", "2027-12-31T23:59-05:00"
    runs = scheduled_runs(parsed[dag_id][2].timetable, earliest, latest)

    expected = fire_instants(SCHEDULES[dag_id].cron, EASTERN_TIMEZONE, after=utc(earliest), until=utc(latest))
    assert [run.run_after for run in runs] == expected
    assert all(run.logical_date == run.run_after for run in runs)
    assert {run.run_after.in_timezone(EASTERN_TIMEZONE).strftime("%H:%M") for run in runs} == {SCHEDULES[dag_id].at}
    assert len({run.run_after.strftime("%H:%M") for run in runs}) == 2, "runs on both sides of the DST changes"


def test_a_run_is_dated_at_its_fire_with_a_zero_length_data_interval(export):
    from airflow.timetables.base import DataInterval

    _, sunday = scheduled_runs(export, "2026-03-06T00:00Z", "2026-03-08T23:59Z")

    assert sunday.logical_date == sunday.run_after == utc("2026-03-08T09:30Z")
    assert sunday.data_interval == DataInterval(sunday.run_after, sunday.run_after)


@pytest.mark.parametrize("run_after", ["2026-03-09T14:00Z", "2026-03-08T09:30Z", "2026-03-12T14:00Z"])
def test_a_manual_run_is_dated_when_it_was_triggered(export, run_after):
    from airflow.timetables.base import DataInterval

    interval = export.infer_manual_data_interval(run_after=utc(run_after))

    assert interval == DataInterval(utc(run_after), utc(run_after))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param("2026-03-11T12:00Z", "2026-03-11T09:30Z", id="after-todays-fire"),
        pytest.param("2026-03-11T08:00Z", "2026-03-10T09:30Z", id="before-todays-fire"),
        pytest.param("2026-03-09T12:00Z", "2026-03-08T09:30Z", id="on-an-off-day"),
    ],
)
def test_without_catchup_the_next_run_is_the_latest_fire_not_after_now(export, now, expected):
    with time_machine.travel(utc(now), tick=False):
        first_ever = next_run(export)
        first_after_earliest = next_run(export, earliest="2025-01-01T00:00Z")
        after_old_run = next_run(export, last_end="2025-06-01T09:30Z", earliest="2025-01-01T00:00Z")

    assert first_ever.run_after == first_after_earliest.run_after == after_old_run.run_after == utc(expected)


def test_without_catchup_a_recent_last_run_is_followed_by_the_next_fire(export):
    with time_machine.travel(utc("2026-03-11T12:00Z"), tick=False):
        info = next_run(export, last_end="2026-03-11T09:30Z")

    assert info.run_after == utc("2026-03-12T09:30Z")


def test_with_catchup_scheduling_starts_at_the_first_fire_after_earliest(export):
    with time_machine.travel(utc("2026-03-11T12:00Z"), tick=False):
        info = next_run(export, earliest="2026-01-01T00:00Z", catchup=True)

    assert info.run_after == utc("2026-01-01T10:30Z")


def test_a_future_earliest_is_respected(export):
    # Without catchup, as the DAGs run. (With catchup and a last run, CronTriggerTimetable
    # follows the last run and ignores a later start_date: the DAGs never catch up.)
    with time_machine.travel(utc("2026-03-11T12:00Z"), tick=False):
        info = next_run(export, last_end="2026-03-11T09:30Z", earliest="2026-12-01T10:30Z")

    assert info.run_after == utc("2026-12-01T10:30Z")


@pytest.mark.parametrize(
    ("latest", "expected"),
    [("2026-03-08T09:30Z", "2026-03-08T09:30Z"), ("2026-03-08T09:29Z", None)],
    ids=["latest-is-inclusive", "after-latest"],
)
def test_latest_is_respected(export, latest, expected):
    info = next_run(export, last_end="2026-03-06T10:30Z", latest=latest, catchup=True)

    assert (info and info.run_after) == (expected and utc(expected))


def test_the_description_is_readable(parsed):
    assert parsed["aspace2alma"][2].timetable.description == (
        "At 05:30, only on Sunday, Tuesday, Wednesday, Thursday, and Friday"
    )
    assert parsed["aspace2alma_skip_day_cleanup"][2].timetable.description == "At 05:30, only on Monday and Saturday"


def test_the_serialized_dags_timetable_gives_the_dags_next_run(parsed, export):
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    dag, _, _ = parsed["aspace2alma"]
    restriction = TimeRestriction(earliest=utc("2026-03-07T00:00Z"), latest=None, catchup=True)

    assert export == coerce_to_core_timetable(dag.timetable)
    assert export.next_dagrun_info(
        last_automated_data_interval=None, restriction=restriction
    ) == coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=None, restriction=restriction
    )


def test_backfill_runs_are_dated_at_their_fire_instants(parsed):
    _, _, dag = parsed["aspace2alma"]

    infos = list(dag.iter_dagrun_infos_between(utc("2026-03-06T00:00Z"), utc("2026-03-09T00:00Z")))

    fires = [utc("2026-03-06T10:30Z"), utc("2026-03-08T09:30Z")]
    assert [info.logical_date for info in infos] == [info.run_after for info in infos] == fires


def test_the_scheduler_keeps_the_fire_instant_as_logical_date(parsed):
    """The scheduler's own path: next run fields of the DAG model, then the run info it creates the run from."""
    from airflow.models.dag import DagModel
    from airflow.timetables.base import DataInterval

    _, _, dag = parsed["aspace2alma"]
    dag_model = DagModel(dag_id=dag.dag_id)
    with time_machine.travel(utc("2026-03-11T12:00Z"), tick=False):
        dag_model.calculate_dagrun_date_fields(dag, reference_run=None)

    info = dag.timetable.next_run_info_from_dag_model(dag_model=dag_model)

    assert info.logical_date == info.run_after == dag_model.next_dagrun == utc("2026-03-11T09:30Z")
    assert info.data_interval == DataInterval(info.run_after, info.run_after)


def test_the_dags_never_catch_up(parsed):
    # The schedule tests above assume it: a backfill is how missed days are run.
    assert {dag_id: dag.catchup for dag_id, (dag, _, _) in parsed.items()} == dict.fromkeys(SCHEDULES, False)
