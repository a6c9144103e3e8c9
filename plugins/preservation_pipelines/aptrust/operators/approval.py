"""Approval of a bulk deletion by a person other than the requester (Airflow human-in-the-loop)."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from preservation_pipelines.aptrust.operators.base import AptrustHooks


class DeletionApprovalOperator(AptrustHooks, ApprovalOperator):
    """ApprovalOperator that accepts an approval only from another registry user than the requester.

    The approving Airflow user is mapped to an active registry user by email (their
    Airflow user name, see docs/aptrust.md); the approval is refused, failing the task
    with nothing created, when that is not possible, when it is the requester's registry
    user, or when the approver triggered the run. The request has to be made again and
    approved by someone else. A rejection (or the timeout, whose default is Reject)
    skips the downstream tasks, so nothing is created either.
    ``registry_conn_id`` as in ``AptrustBaseOperator``.
    """

    template_fields = (*ApprovalOperator.template_fields, "institution", "requester", "identifiers")

    def __init__(
        self, *, institution: str, requester: str, identifiers: Any, registry_conn_id: str | None = None, **kwargs
    ) -> None:
        kwargs.setdefault("defaults", ApprovalOperator.REJECT)
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.registry_conn_id = registry_conn_id

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from preservation_pipelines.aptrust.operators.deletion import checked_approval, parsed_request

        if "error" not in event and event.get("chosen_options") == [self.APPROVE]:
            request = parsed_request(self.institution, self.requester, self.identifiers)
            _, requester, approver = checked_approval(self.registry, request, event.get("responded_by_user"), context)
            self.log.info("approved by registry user %d (%s) for %s", approver.id, approver.email, requester.email)
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
