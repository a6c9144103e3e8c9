"""Register the weekday timetables so Airflow can deserialize DAGs that use them."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

# Imported by its top-level name, exactly as DAG files do: Airflow looks registered
# timetables up by qualified name, so this must resolve to "timetables.WeekdayTimetable".
from timetables import WeekdayTimetable


class EasternTimetablesPlugin(AirflowPlugin):
    name = "eastern_timetables"
    timetables = [WeekdayTimetable]
