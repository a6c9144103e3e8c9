"""The failure notifier under ``dag.test()`` on the real SMTP sink: one mail per failed task
after its last try, none for a task that succeeds on a retry, none without usable recipients."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.include.aptrust.fixtures import mailbox  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("airflow_db")
FAILURE_DAGS = Path(__file__).with_name("failure_dags.py")
RECIPIENTS = "ops-one@example.org, ops-two@example.org"


def _run(dag_id: str):
    """Run one of ``failure_dags`` with ``dag.test()``, written to the metadata DB first as the
    dag-processor would (``dag.test()`` itself only syncs the configured dags folder)."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(FAILURE_DAGS), bundle_path=FAILURE_DAGS.parent)
    assert bag.import_errors == {}
    sync_bag_to_db(bag, "dags-folder", None)
    return bag.dags[dag_id].test()


def test_a_failed_task_sends_one_mail_after_its_last_try(mailbox, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AIRFLOW_VAR_TEST_ALERT_TO", RECIPIENTS)
    dag_run = _run("failure_notifier_always_fails")

    assert str(dag_run.state) == "failed"
    [mail] = mailbox.messages()  # not one per try
    assert mail["rcpt_tos"] == ["ops-one@example.org", "ops-two@example.org"]
    assert mail["subject"] == f"[Airflow] failure_notifier_always_fails.step failed (run {dag_run.run_id})"
    body = mail["body"]
    assert "DAG:   failure_notifier_always_fails" in body and f"Run:   {dag_run.run_id}" in body
    assert "Try:   2 of 2" in body
    assert "Error: ValueError: manifest row 7: fileUrl 'ftp://x' is not http(s)" in body
    assert "second line" not in body
    assert "/dags/failure_notifier_always_fails/runs/" in body and "/tasks/step" in body


def test_a_task_that_fails_once_then_succeeds_sends_nothing(mailbox, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AIRFLOW_VAR_TEST_ALERT_TO", RECIPIENTS)
    dag_run = _run("failure_notifier_fails_once")

    assert str(dag_run.state) == "success"
    assert mailbox.messages() == []


@pytest.mark.parametrize("value", ["", " , ", "ops@example.org\r\nBcc: everyone@example.org"])
def test_no_usable_recipient_sends_nothing_and_the_task_stays_failed(mailbox, monkeypatch, value):  # noqa: F811
    monkeypatch.setenv("AIRFLOW_VAR_TEST_ALERT_TO", value)
    dag_run = _run("failure_notifier_always_fails")

    assert str(dag_run.state) == "failed"
    assert mailbox.messages() == []
