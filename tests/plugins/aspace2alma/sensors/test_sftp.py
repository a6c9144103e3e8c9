"""SFTPFreshFileSensor on the real sshd: with no fresh report it hands its paths and connection to the trigger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.dags.aspace2alma_support import FOLDER, dropbox  # noqa: F401 - fixture


def test_defers_to_the_trigger_with_its_paths_window_and_connection(dropbox):
    from airflow.sdk.exceptions import TaskDeferred

    from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook
    from preservation_pipelines.aspace2alma.sensors.sftp import SFTPFreshFileSensor

    sensor = SFTPFreshFileSensor(
        task_id="wait", folder=FOLDER, names=["sc_active_barcodes.csv"], fresh_after="00:00", cutoff="23:59"
    )
    midday = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)  # its cut-off lies ahead

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({"logical_date": midday})

    path, kwargs = deferred.value.trigger.serialize()
    assert path == "preservation_pipelines.aspace2alma.triggers.sftp.SFTPFreshFileTrigger"
    assert kwargs["paths"] == [f"{FOLDER}/sc_active_barcodes.csv"]
    assert kwargs["sftp_conn_id"] == SFTPDropBoxHook.default_conn_name


def test_a_cutoff_that_is_no_time_of_day_fails_at_once():
    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.aspace2alma.sensors.sftp import SFTPFreshFileSensor

    sensor = SFTPFreshFileSensor(task_id="wait", folder=FOLDER, names=["sc_active_barcodes.csv"], cutoff="99:99")
    with pytest.raises(AirflowFailException, match="report_cutoff is '99:99', expected a time of day HH:MM"):
        sensor.execute({"logical_date": datetime.now(UTC)})
