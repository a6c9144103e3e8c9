"""Airflow plugin: the run-notes listener (a finished run's summary in the run's note)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from preservation_pipelines.common.listeners import run_summary_note


class RunNotesPlugin(AirflowPlugin):
    name = "preservation_pipelines_run_notes"
    listeners = [run_summary_note]
