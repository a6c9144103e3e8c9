"""Approval of a bulk deletion by a person other than the requester (Airflow human-in-the-loop)."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk.exceptions import AirflowFailException


class DeletionApprovalOperator(ApprovalOperator):
    """ApprovalOperator that refuses an approval given by the requester themself.

    A rejection (or the timeout, whose default is Reject) skips the downstream tasks,
    so nothing is created. An approval by the requester fails the task, also with
    nothing created: the request has to be made again and approved by someone else.
    """

    template_fields = (*ApprovalOperator.template_fields, "requester")

    def __init__(self, *, requester: str, **kwargs) -> None:
        kwargs.setdefault("defaults", ApprovalOperator.REJECT)
        super().__init__(**kwargs)
        self.requester = requester

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from include.aptrust.deletion import same_person

        if "error" not in event and event.get("chosen_options") == [self.APPROVE]:
            responder = event.get("responded_by_user") or {}
            if not responder:
                raise AirflowFailException("an approval without an approving user is not accepted")
            if same_person(self.requester, [responder.get("id"), responder.get("name")]):
                raise AirflowFailException(
                    f"{self.requester} requested this deletion and cannot approve it; "
                    "nothing was created: trigger the request again for another person to approve"
                )
        if event.get("timedout"):
            self.log.warning("no response before the timeout: the default (%s) applies", self.defaults)
        # the decision under its own key: on Reject the return value is not kept (downstream skipped)
        context["ti"].xcom_push(
            key="decision",
            value={
                "chosen": (event.get("chosen_options") or [None])[0],
                "by": (event.get("responded_by_user") or {}).get("name"),
                "timed_out": bool(event.get("timedout")),
            },
        )
        return super().execute_complete(context, event)
