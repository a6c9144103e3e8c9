"""The 10:30 Eastern deadline check: mails when that day's aspace2alma run has not succeeded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.dags.aspace2alma_support import FRIDAY, no_runs  # noqa: F401 - fixture
from tests.dags.helpers import load_dag, run_dag, xcom_return

FRIDAY_1030 = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 10:30 EST
pytestmark = pytest.mark.usefixtures("no_runs")


@pytest.fixture
def alert_to(monkeypatch, smtp):
    monkeypatch.setenv("AIRFLOW_VAR_ASPACE2ALMA_ALERT_TO", "archives-ops@example.org, alma-team@example.org")
    return smtp


def _check_task(dag_run) -> tuple[str, int]:
    """The check task's state and how many tries it took."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        task = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).one()
        return str(task.state), task.try_number


def _mails_about(smtp, day: str):
    return [m for m in smtp.messages() if "aspace2alma" in m["subject"] and day in m["body"]]


def test_mails_the_operators_then_fails_red_when_the_export_is_not_done(alert_to):
    mails_before = len(_mails_about(alert_to, "2026-11-20"))
    dag_run = run_dag("aspace2alma_deadline_check", logical_date=FRIDAY_1030)

    assert str(dag_run.state) == "failed"
    assert _check_task(dag_run) == ("failed", 1)  # no retry into more mail
    *_, mail = mails = _mails_about(alert_to, "2026-11-20")
    assert len(mails) == mails_before + 1
    assert "11:00" in mail["body"] and "archives-ops@example.org" in mail["to"]


def test_recipients_the_server_can_never_take_fail_at_once_naming_them(monkeypatch, smtp):
    monkeypatch.setenv("AIRFLOW_VAR_ASPACE2ALMA_ALERT_TO", "ops@example.org\r\nBcc: everyone@example.org")
    mails_before = len(_mails_about(smtp, "2026-11-20"))
    dag_run = run_dag("aspace2alma_deadline_check", logical_date=FRIDAY_1030)

    assert str(dag_run.state) == "failed"
    assert _check_task(dag_run) == ("failed", 1)
    assert len(_mails_about(smtp, "2026-11-20")) == mails_before


def test_stays_quiet_when_that_days_run_succeeded(alert_to):
    done = load_dag("aspace2alma").test(logical_date=FRIDAY, run_after=FRIDAY, mark_success_pattern=".*")
    assert str(done.state) == "success"
    mails_before = len(_mails_about(alert_to, "2026-11-20"))

    dag_run = run_dag("aspace2alma_deadline_check", logical_date=FRIDAY_1030)

    assert xcom_return(dag_run, "check_export_done") == {"day": "2026-11-20", "done": True}
    assert len(_mails_about(alert_to, "2026-11-20")) == mails_before


def test_the_check_runs_at_1030_eastern_on_the_export_days_only():
    dag = load_dag("aspace2alma_deadline_check")
    export = load_dag("aspace2alma")
    assert dag.timetable.expression == "30 10 * * 0,2,3,4,5" and export.timetable.expression == "30 5 * * 0,2,3,4,5"
    assert dag.timetable.timezone == export.timetable.timezone == "America/New_York"
