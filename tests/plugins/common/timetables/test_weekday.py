from __future__ import annotations

import datetime
import json

import pendulum
import pytest
import time_machine
from airflow.timetables.base import DataInterval, TimeRestriction

from preservation_pipelines.common.timetables.weekday import WeekdayTimetable

EASTERN = pendulum.timezone("America/New_York")
MAIN = WeekdayTimetable(at="05:30", weekdays=("SUN", "TUE", "WED", "THU", "FRI"), timezone="America/New_York")
SKIP_DAY = MAIN.complement()


def utc(text: str) -> pendulum.DateTime:
    return pendulum.parse(text)


def scheduled_runs(timetable: WeekdayTimetable, earliest: str, latest: str):
    """Every run the scheduler would create between two instants, with catchup on."""
    restriction = TimeRestriction(earliest=utc(earliest), latest=utc(latest), catchup=True)
    runs, last_interval = [], None
    while info := timetable.next_dagrun_info(last_automated_data_interval=last_interval, restriction=restriction):
        runs.append(info)
        last_interval = info.data_interval
    return runs


def next_run(timetable, *, last_end=None, earliest=None, latest=None, catchup=False):
    return timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(utc(last_end), utc(last_end)) if last_end else None,
        restriction=TimeRestriction(
            earliest=utc(earliest) if earliest else None,
            latest=utc(latest) if latest else None,
            catchup=catchup,
        ),
    )


@pytest.mark.parametrize(
    ("timetable", "earliest", "latest", "expected"),
    [
        pytest.param(
            MAIN,
            "2026-03-06T00:00Z",
            "2026-03-10T23:59Z",
            ["2026-03-06T10:30Z", "2026-03-08T09:30Z", "2026-03-10T09:30Z"],
            id="main-dst-starts-2026",
        ),
        pytest.param(
            SKIP_DAY,
            "2026-03-06T00:00Z",
            "2026-03-10T23:59Z",
            ["2026-03-07T10:30Z", "2026-03-09T09:30Z"],
            id="skip-day-dst-starts-2026",
        ),
        pytest.param(
            MAIN,
            "2026-10-30T00:00Z",
            "2026-11-03T23:59Z",
            ["2026-10-30T09:30Z", "2026-11-01T10:30Z", "2026-11-03T10:30Z"],
            id="main-dst-ends-2026",
        ),
        pytest.param(
            SKIP_DAY,
            "2026-10-30T00:00Z",
            "2026-11-03T23:59Z",
            ["2026-10-31T09:30Z", "2026-11-02T10:30Z"],
            id="skip-day-dst-ends-2026",
        ),
        pytest.param(
            MAIN,
            "2027-03-12T00:00Z",
            "2027-03-16T23:59Z",
            ["2027-03-12T10:30Z", "2027-03-14T09:30Z", "2027-03-16T09:30Z"],
            id="main-dst-starts-2027",
        ),
        pytest.param(
            SKIP_DAY,
            "2027-03-12T00:00Z",
            "2027-03-16T23:59Z",
            ["2027-03-13T10:30Z", "2027-03-15T09:30Z"],
            id="skip-day-dst-starts-2027",
        ),
    ],
)
def test_runs_stay_at_0530_local_across_dst_changes(timetable, earliest, latest, expected):
    runs = scheduled_runs(timetable, earliest, latest)

    assert [run.run_after for run in runs] == [utc(text) for text in expected]
    assert {run.run_after.in_timezone(EASTERN).strftime("%H:%M") for run in runs} == {"05:30"}


def test_each_run_covers_the_time_since_the_previous_fire_and_is_dated_at_its_fire():
    friday, sunday = scheduled_runs(MAIN, "2026-03-06T00:00Z", "2026-03-08T23:59Z")

    assert sunday.data_interval == DataInterval(friday.run_after, sunday.run_after)
    assert sunday.logical_date == sunday.run_after == utc("2026-03-08T09:30Z")


def test_the_two_timetables_cover_every_local_day_exactly_once():
    earliest, latest = "2026-01-01T00:00-05:00", "2027-12-31T23:59-05:00"
    local_days = [
        run.run_after.in_timezone(EASTERN).date()
        for timetable in (MAIN, SKIP_DAY)
        for run in scheduled_runs(timetable, earliest, latest)
    ]

    first, last = datetime.date(2026, 1, 1), datetime.date(2027, 12, 31)
    every_day = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    assert sorted(local_days) == every_day


@pytest.mark.parametrize(
    ("timetable", "expected_days"),
    [(MAIN, {"Sun", "Tue", "Wed", "Thu", "Fri"}), (SKIP_DAY, {"Mon", "Sat"})],
    ids=["main", "skip-day"],
)
def test_runs_fall_only_on_the_listed_weekdays(timetable, expected_days):
    runs = scheduled_runs(timetable, "2026-01-01T00:00Z", "2026-12-31T23:59Z")

    assert {run.run_after.in_timezone(EASTERN).strftime("%a") for run in runs} == expected_days


def test_complement_keeps_time_and_zone_and_takes_the_other_days():
    assert SKIP_DAY == WeekdayTimetable(at="05:30", weekdays=("MON", "SAT"), timezone="America/New_York")
    assert SKIP_DAY.complement() == MAIN


def test_description_is_readable():
    assert MAIN.description == "05:30 America/New_York on Sun, Tue, Wed, Thu, Fri"
    assert SKIP_DAY.summary == "05:30 America/New_York on Mon, Sat"


@pytest.mark.parametrize(
    ("timetable", "run_after", "expected_start"),
    [
        pytest.param(MAIN, "2026-03-09T14:00Z", "2026-03-08T09:30Z", id="main-day-after-a-run"),
        pytest.param(MAIN, "2026-03-08T09:30Z", "2026-03-06T10:30Z", id="main-exactly-at-a-fire"),
        pytest.param(SKIP_DAY, "2026-03-12T14:00Z", "2026-03-09T09:30Z", id="skip-day-midweek"),
    ],
)
def test_manual_run_covers_the_time_since_the_previous_fire(timetable, run_after, expected_start):
    interval = timetable.infer_manual_data_interval(run_after=utc(run_after))

    assert interval == DataInterval(utc(expected_start), utc(run_after))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param("2026-03-11T12:00Z", "2026-03-11T09:30Z", id="after-todays-fire"),
        pytest.param("2026-03-11T08:00Z", "2026-03-10T09:30Z", id="before-todays-fire"),
        pytest.param("2026-03-09T12:00Z", "2026-03-08T09:30Z", id="on-an-off-day"),
    ],
)
def test_without_catchup_the_next_run_is_the_latest_fire_not_after_now(now, expected):
    with time_machine.travel(utc(now), tick=False):
        first_ever = next_run(MAIN, earliest="2025-01-01T00:00Z")
        after_old_run = next_run(MAIN, last_end="2025-06-01T09:30Z", earliest="2025-01-01T00:00Z")

    assert first_ever.run_after == after_old_run.run_after == utc(expected)


def test_without_catchup_a_recent_last_run_is_followed_by_the_next_fire():
    with time_machine.travel(utc("2026-03-11T12:00Z"), tick=False):
        info = next_run(MAIN, last_end="2026-03-11T09:30Z")

    assert info.run_after == utc("2026-03-12T09:30Z")


def test_with_catchup_scheduling_starts_at_the_first_fire_after_earliest():
    with time_machine.travel(utc("2026-03-11T12:00Z"), tick=False):
        info = next_run(MAIN, earliest="2026-01-01T00:00Z", catchup=True)

    assert info.run_after == utc("2026-01-01T10:30Z")


@pytest.mark.parametrize("catchup", [True, False])
def test_a_future_earliest_is_respected(catchup):
    with time_machine.travel(utc("2026-03-11T12:00Z"), tick=False):
        info = next_run(MAIN, last_end="2026-03-11T09:30Z", earliest="2026-12-01T10:30Z", catchup=catchup)

    assert info.run_after == utc("2026-12-01T10:30Z")


@pytest.mark.parametrize(
    ("latest", "expected"),
    [("2026-03-08T09:30Z", "2026-03-08T09:30Z"), ("2026-03-08T09:29Z", None)],
    ids=["latest-is-inclusive", "after-latest"],
)
def test_latest_is_respected(latest, expected):
    info = next_run(MAIN, last_end="2026-03-06T10:30Z", latest=latest, catchup=True)

    assert (info and info.run_after) == (expected and utc(expected))


def test_serialization_round_trips_through_json():
    data = json.loads(json.dumps(MAIN.serialize()))

    assert data == {"at": "05:30", "weekdays": ["SUN", "TUE", "WED", "THU", "FRI"], "timezone": "America/New_York"}
    assert WeekdayTimetable.deserialize(data) == MAIN
    assert hash(WeekdayTimetable.deserialize(data)) == hash(MAIN)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"weekdays": ("SUN", "FUNDAY")}, "unknown weekday", id="unknown-weekday"),
        pytest.param({"weekdays": ()}, "at least one day", id="no-weekdays"),
        pytest.param({"weekdays": "MON"}, "collection of day names", id="weekdays-as-string"),
        pytest.param({"at": "01:00"}, "daylight saving", id="dst-window-start"),
        pytest.param({"at": "02:30"}, "daylight saving", id="dst-gap"),
        pytest.param({"at": "02:59"}, "daylight saving", id="dst-window-end"),
        pytest.param({"at": "5:30"}, "'HH:MM'", id="unpadded-hour"),
        pytest.param({"at": "24:00"}, "'HH:MM'", id="hour-out-of-range"),
        pytest.param({"timezone": "America/Nowhere"}, "IANA time zone", id="unknown-timezone"),
    ],
)
def test_invalid_arguments_are_refused_clearly(kwargs, message):
    arguments = {"at": "05:30", "weekdays": ("MON",), "timezone": "America/New_York", **kwargs}

    with pytest.raises((ValueError, TypeError), match=message):
        WeekdayTimetable(**arguments)


@pytest.mark.parametrize("at", ["00:59", "03:00"])
def test_times_just_outside_the_dst_window_are_accepted(at):
    assert WeekdayTimetable(at=at, weekdays=("MON",), timezone="America/New_York").at == at


def test_every_day_has_no_complement():
    every_day = WeekdayTimetable(
        at="05:30", weekdays=("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"), timezone="America/New_York"
    )

    with pytest.raises(ValueError, match="runs every day"):
        every_day.complement()


class TestAirflowIntegration:
    """The plugin registration as Airflow's own DAG serialization and scheduler use it."""

    @pytest.fixture
    def serialized_dag(self):
        from airflow.providers.standard.operators.empty import EmptyOperator
        from airflow.sdk import DAG
        from airflow.serialization.serialized_objects import DagSerialization

        with DAG("weekday_timetable_check", schedule=MAIN, start_date=utc("2026-01-01T00:00Z"), catchup=True) as dag:
            EmptyOperator(task_id="noop")
        stored = json.loads(json.dumps(DagSerialization.to_dict(dag)))
        return stored, DagSerialization.from_dict(stored)

    def test_plugin_registers_the_timetable_by_its_import_name(self):
        from airflow import plugins_manager

        registered = plugins_manager.get_timetables_plugins()

        assert (
            registered["preservation_pipelines.common.timetables.weekday.WeekdayTimetable"].__qualname__
            == "WeekdayTimetable"
        )

    def test_dag_serialization_round_trips_the_timetable(self, serialized_dag):
        stored, dag = serialized_dag
        restriction = TimeRestriction(earliest=utc("2026-03-07T00:00Z"), latest=None, catchup=True)

        assert (
            stored["dag"]["timetable"]["__type"] == "preservation_pipelines.common.timetables.weekday.WeekdayTimetable"
        )
        assert dag.timetable == MAIN
        assert dag.timetable.next_dagrun_info(
            last_automated_data_interval=None, restriction=restriction
        ) == MAIN.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)

    def test_backfill_runs_are_dated_at_their_fire_instants(self, serialized_dag):
        _, dag = serialized_dag

        infos = list(dag.iter_dagrun_infos_between(utc("2026-03-06T00:00Z"), utc("2026-03-09T00:00Z")))

        fires = [utc("2026-03-06T10:30Z"), utc("2026-03-08T09:30Z")]
        assert [info.logical_date for info in infos] == [info.run_after for info in infos] == fires

    def test_scheduler_keeps_the_fire_instant_as_logical_date(self, serialized_dag):
        from airflow.models.dag import DagModel

        _, dag = serialized_dag
        dag_model = DagModel(dag_id=dag.dag_id)
        dag_model.calculate_dagrun_date_fields(dag, reference_run=None)

        info = dag.timetable.next_run_info_from_dag_model(dag_model=dag_model)

        assert info.logical_date == info.run_after == dag_model.next_dagrun == utc("2026-01-01T10:30Z")
        assert info.data_interval == DataInterval(utc("2025-12-31T10:30Z"), utc("2026-01-01T10:30Z"))
