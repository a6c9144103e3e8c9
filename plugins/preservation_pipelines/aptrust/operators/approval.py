"""The APTrust DAGs' human-in-the-loop approvals: the base that keeps each decision, and the approval
of a bulk deletion by a person other than the requester."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from preservation_pipelines.aptrust.operators.base import AptrustHooks


class DecisionRecordingApprovalOperator(ApprovalOperator):
    """ApprovalOperator whose default (no answer before the timeout) is Reject, and which keeps the
    decision (option chosen, by whom, timed out or not) under XCom key ``decision``: on Reject the
    return value is not kept, since the downstream tasks are skipped, but the run summary reports it."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("defaults", ApprovalOperator.REJECT)
        super().__init__(**kwargs)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        if event.get("timedout"):
            self.log.warning("no response before the timeout: the default (%s) applies", self.defaults)
        context["ti"].xcom_push(
            key="decision",
            value={
                "chosen": (event.get("chosen_options") or [None])[0],
                "by": (event.get("responded_by_user") or {}).get("name"),
                "timed_out": bool(event.get("timedout")),
            },
        )
        return super().execute_complete(context, event)


class DeletionApprovalOperator(AptrustHooks, DecisionRecordingApprovalOperator):
    """ApprovalOperator that accepts an approval only from another registry user of the institution
    than the requester.

    The approving Airflow user is mapped to an active registry user by email (their
    Airflow user name, see docs/aptrust.md); the approval is refused, failing the task
    with nothing created, when that is not possible, when it is the requester's registry
    user, or when the approver triggered the run. The request has to be made again and
    approved by someone else. A rejection (or the timeout, whose default is Reject)
    skips the downstream tasks, so no WorkItem is created: the request is recorded as
    cancelled (``deletion_requests.cancelled_at``) and a ``Deletion Cancelled`` alert goes to
    the requester and the institution's admins. ``registry_conn_id`` and ``smtp_conn_id``
    as in ``AptrustBaseOperator``.
    """

    template_fields = (*ApprovalOperator.template_fields, "institution", "requester", "identifiers")

    def __init__(
        self,
        *,
        institution: str,
        requester: str,
        identifiers: Any,
        registry_conn_id: str | None = None,
        smtp_conn_id: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.registry_conn_id = registry_conn_id
        self.smtp_conn_id = smtp_conn_id

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        from preservation_pipelines.aptrust.operators.deletion import checked_approval, parsed_request

        approved = event.get("chosen_options") == [self.APPROVE]
        if "error" not in event and approved:
            request = parsed_request(self.institution, self.requester, self.identifiers)
            _, requester, approver = checked_approval(self.registry, request, event.get("responded_by_user"), context)
            self.log.info("approved by registry user %d (%s) for %s", approver.id, approver.email, requester.email)
        if "error" not in event and not approved:
            self.record_cancellation(context, event.get("responded_by_user"))
        return super().execute_complete(context, event)

    def record_cancellation(self, context, responder: Any) -> None:
        """The request recorded as cancelled (by the rejecting registry user, if one; None on timeout)
        with its objects and files, and its ``Deletion Cancelled`` alert sent; once per run."""
        from include.aptrust.deletion import DeletionDecision, IdentityRefused, requesting_user, responding_user
        from include.aptrust.inputs import shown
        from include.aptrust.mail import deletion_cancelled
        from preservation_pipelines.aptrust.operators.alerts import send_recorded_alerts
        from preservation_pipelines.aptrust.operators.deletion import parsed_request, registry_institution_id
        from preservation_pipelines.aptrust.operators.deletion_request import recipient, record_decision

        request = parsed_request(self.institution, self.requester, self.identifiers)
        institution_id = registry_institution_id(self.registry, request)
        try:
            requester = requesting_user(request, institution_id, self.registry.active_users)
        except IdentityRefused as refused:
            self.log.warning("no cancellation recorded: %s", refused)
            return
        cancelled_by = responding_user(responder, self.registry.active_users)
        name = (responder or {}).get("name") or (responder or {}).get("id")
        rejected_by = shown(name) if name else None  # an Airflow user who is no registry user; None: timed out
        recorded = record_decision(
            self.registry,
            context,
            DeletionDecision(institution_id, requester, cancelled_by=cancelled_by),
            items_of=lambda find: [item for item in find(request.identifiers) if item.institution_id == institution_id],
            build_alert=lambda _, admins: deletion_cancelled(
                institution_id=institution_id,
                institution=request.institution,
                requester=recipient(requester),
                identifiers=request.identifiers,
                cancelled_by=cancelled_by.email if cancelled_by else rejected_by,
                admins=admins,
            ),
        )
        self.log.info("deletion request %d recorded as cancelled", recorded["deletion_request_id"])
        send_recorded_alerts(self, dag_id=context["dag"].dag_id, dag_run_id=context["run_id"])
