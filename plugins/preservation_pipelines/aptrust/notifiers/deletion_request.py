"""Asking an institution's admins to approve a bulk deletion, when the approval task starts waiting."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier

from preservation_pipelines.aptrust.operators.base import AptrustHooks


class DeletionRequestNotifier(AptrustHooks, BaseNotifier):
    """Emails the institution's active admins (not the requester) that a deletion awaits approval.

    Runs when the approval task starts waiting; the link opens its Required Actions page.
    ``registry_conn_id`` and ``smtp_conn_id`` as in ``AptrustBaseOperator``.
    """

    template_fields = ("institution", "requester", "identifiers")

    def __init__(
        self,
        *,
        institution: str,
        requester: str,
        identifiers: Any,
        registry_conn_id: str | None = None,
        smtp_conn_id: str | None = None,
    ) -> None:
        super().__init__()
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.registry_conn_id = registry_conn_id
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context) -> None:
        from include.aptrust.mail import deletion_request
        from preservation_pipelines.aptrust.operators.deletion import parsed_request, registry_institution_id
        from preservation_pipelines.common.hooks.mail import UnsendableMessage

        request = parsed_request(self.institution, self.requester, self.identifiers)
        institution_id = registry_institution_id(self.registry, request)
        try:
            link = context["task"].generate_link_to_ui(task_instance=context["task_instance"])
        except ValueError:  # no [api] base_url configured
            link = None
        email = deletion_request(
            institution_id=institution_id,
            institution=request.institution,
            request_key=f"{context['dag'].dag_id}/{context['run_id']}",
            requester=request.requester,
            identifiers=request.identifiers,
            admins=self.registry.active_admins(institution_id),
            approval_link=link,
        )
        for invalid in email.invalid_recipients:
            self.log.error("admin left out of the approval request: %s", invalid)
        if not email.recipients:
            self.log.warning("%s has no active admin other than the requester to ask for approval", self.institution)
            return
        try:
            self.mail.send_plain(
                message_id=email.message_id, recipients=email.recipients, subject=email.subject, body=email.body
            )
        except UnsendableMessage as error:  # the request still waits under Required Actions
            self.log.error("the approval request could not be mailed: %s", error)
            return
        self.log.info("asked %s to approve", ", ".join(email.recipients))
