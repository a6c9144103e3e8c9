"""The run summary task: what it gathers and when it fails (the DAG tests run it for real)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from include.common.run_note import RUN_SUMMARY_XCOM_KEY
from preservation_pipelines.common.operators.run_summary import RunSummaryOperator


class TaskInstance:
    """What the operator reads of the task instance (XComs by task id and key) and what it
    pushes (by key)."""

    def __init__(self, xcoms: dict[tuple[str, str], object]) -> None:
        self.xcoms = xcoms
        self.pushed: dict[str, object] = {}

    def xcom_pull(self, task_ids: str, key: str = "return_value"):
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def test_one_step_gives_the_summary_as_it_is():
    ti = TaskInstance({("apply", "return_value"): {"applied": 3, "parked": []}})
    operator = RunSummaryOperator(task_id="report", steps="apply", problems=("parked",))
    assert operator.execute({"ti": ti}) == {"applied": 3, "parked": []}
    assert ti.pushed == {RUN_SUMMARY_XCOM_KEY: {"applied": 3, "parked": []}}  # for the run's note


def test_several_steps_are_gathered_by_name_and_a_step_that_did_not_run_is_none():
    ti = TaskInstance({("create", "return_value"): {"created": 2}, ("approve", "decision"): {"chosen": "Approve"}})
    operator = RunSummaryOperator(
        task_id="run_summary", steps={"created": "create", "approval": ("approve", "decision"), "sent": "send"}
    )
    assert operator.execute({"ti": ti}) == {"created": {"created": 2}, "approval": {"chosen": "Approve"}, "sent": None}


def test_listed_problems_fail_the_task_naming_each_record():
    ti = TaskInstance({("apply", "return_value"): {"parked": ["asset a1: bad input", "asset a2: bad input"]}})
    operator = RunSummaryOperator(task_id="report", steps="apply", problems=("parked",))
    with pytest.raises(AirflowFailException, match=r"2 record\(s\) need an operator.*\nparked: asset a1: bad input"):
        operator.execute({"ti": ti})


def test_problems_kept_as_record_to_reason_are_named_with_their_reasons():
    failed = {"/repositories/2/resources/7": "MarcXmlError: not well-formed"}
    ti = TaskInstance({("export", "return_value"): {"written": 40, "failed": failed}})
    operator = RunSummaryOperator(task_id="run_summary", steps="export", problems=("failed",))
    with pytest.raises(AirflowFailException, match=r"failed: /repositories/2/resources/7: MarcXmlError: not well"):
        operator.execute({"ti": ti})
    assert ti.pushed[RUN_SUMMARY_XCOM_KEY] == {"written": 40, "failed": failed}  # kept though the task fails
