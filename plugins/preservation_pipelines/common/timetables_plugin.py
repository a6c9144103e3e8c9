"""Register the weekday timetables so Airflow can deserialize DAGs that use them."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from preservation_pipelines.common.timetables.weekday import WeekdayTimetable


class EasternTimetablesPlugin(AirflowPlugin):
    name = "eastern_timetables"
    timetables = [WeekdayTimetable]
