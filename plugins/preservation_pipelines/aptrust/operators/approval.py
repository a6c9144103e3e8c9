"""Approval of a bulk deletion by a person other than the requester (Airflow human-in-the-loop)."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import BaseNotifier
from airflow.sdk.exceptions import AirflowFailException


class DeletionRequestNotifier(BaseNotifier):
    """Emails the institution's active admins (not the requester) that a deletion awaits approval.

    Runs when the approval task starts waiting; the link opens its Required Actions page.
    """

    template_fields = ("institution", "requester", "identifiers")

    def __init__(
        self,
        *,
        institution: str,
        requester: str,
        identifiers: Any,
        registry_conn_id: str = "aptrust_registry",
        smtp_conn_id: str = "smtp_default",
    ) -> None:
        super().__init__()
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.registry_conn_id = registry_conn_id
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context) -> None:
        from include.aptrust.deletion import requested_identifiers
        from include.aptrust.mail import deletion_request
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook
        from preservation_pipelines.common.hooks.mail import MailHook

        registry = AptrustRegistryHook(self.registry_conn_id)
        institution = registry.institution(self.institution)
        try:
            link = context["task"].generate_link_to_ui(task_instance=context["task_instance"])
        except ValueError:  # no [api] base_url configured
            link = None
        email = deletion_request(
            institution_id=institution["id"],
            institution=self.institution,
            request_key=f"{context['dag'].dag_id}/{context['run_id']}",
            requester=self.requester,
            identifiers=requested_identifiers(self.identifiers or []),
            admins=registry.active_admins(institution["id"]),
            approval_link=link,
        )
        if not email.recipients:
            self.log.warning("%s has no active admin other than the requester to ask for approval", self.institution)
            return
        MailHook(self.smtp_conn_id).send_plain(
            message_id=email.message_id, recipients=email.recipients, subject=email.subject, body=email.body
        )
        self.log.info("asked %s to approve", ", ".join(email.recipients))


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
