"""The skip-day cleanup on the real SFTP server: stale MARC_out.xml goes, same-day stays."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from tests.dags.helpers import run_dag, xcom_return

EASTERN_MONDAY_0530 = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)  # 05:30 EST


@pytest.fixture
def marc_out(sftp):
    path = sftp.local_path("/alma/aspace/MARC_out.xml")
    yield path
    path.unlink(missing_ok=True)


def _write(path, written_at: datetime) -> None:
    path.write_text("<collection/>")
    os.utime(path, (written_at.timestamp(), written_at.timestamp()))


def test_deletes_a_file_written_the_day_before(airflow_db, marc_out):
    _write(marc_out, datetime(2026, 11, 22, 15, 0, tzinfo=UTC))  # Sunday, Eastern

    dag_run = run_dag("aspace2alma_skip_day_cleanup", logical_date=EASTERN_MONDAY_0530)

    assert str(dag_run.state) == "success"
    assert not marc_out.exists()
    assert xcom_return(dag_run, "remove_stale_output")["deleted"] is True


def test_keeps_a_file_written_that_day_even_just_after_midnight_eastern(airflow_db, marc_out):
    _write(marc_out, datetime(2026, 11, 23, 5, 1, tzinfo=UTC))  # 00:01 EST Monday

    dag_run = run_dag("aspace2alma_skip_day_cleanup", logical_date=EASTERN_MONDAY_0530)

    assert str(dag_run.state) == "success"
    assert marc_out.exists()


def test_a_backfilled_cleanup_judges_by_its_own_day(airflow_db, marc_out):
    """A cleanup for Saturday 2026-11-21 run later keeps a file written on the 21st."""
    _write(marc_out, datetime(2026, 11, 21, 12, 0, tzinfo=UTC))

    dag_run = run_dag("aspace2alma_skip_day_cleanup", logical_date=datetime(2026, 11, 21, 10, 30, tzinfo=UTC))

    assert str(dag_run.state) == "success"
    assert marc_out.exists()
    assert xcom_return(dag_run, "remove_stale_output") == {
        "day": "2026-11-21",
        "deleted": False,
        "reason": "written that day",
    }


@pytest.fixture
def other_folder(sftp):
    """A second drop-box folder beside /alma/aspace, writable like it."""
    default = sftp.local_path("/alma/aspace")
    folder = default.parent / "elsewhere"
    folder.mkdir(exist_ok=True)
    stat = default.stat()
    os.chown(folder, stat.st_uid, stat.st_gid)
    folder.chmod(stat.st_mode)
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def test_the_folder_comes_from_the_variable(airflow_db, marc_out, other_folder, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ASPACE2ALMA_DROPBOX_FOLDER", "/alma/elsewhere")
    stale = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    _write(marc_out, stale)
    _write(other_folder / "MARC_out.xml", stale)

    dag_run = run_dag("aspace2alma_skip_day_cleanup", logical_date=EASTERN_MONDAY_0530)

    assert str(dag_run.state) == "success"
    assert not (other_folder / "MARC_out.xml").exists()
    assert marc_out.exists()  # the default folder is not the drop box any more


@pytest.mark.parametrize("value", ["alma/aspace", "/alma/../etc", "/alma/.ssh", "/alma//aspace", "/alma/as pace"])
def test_a_folder_variable_that_could_leave_the_drop_box_fails_the_run_naming_it(
    airflow_db, marc_out, monkeypatch, value
):
    monkeypatch.setenv("AIRFLOW_VAR_ASPACE2ALMA_DROPBOX_FOLDER", value)
    _write(marc_out, datetime(2026, 11, 22, 15, 0, tzinfo=UTC))

    dag_run = run_dag("aspace2alma_skip_day_cleanup", logical_date=EASTERN_MONDAY_0530)

    assert str(dag_run.state) == "failed"
    assert marc_out.exists()
