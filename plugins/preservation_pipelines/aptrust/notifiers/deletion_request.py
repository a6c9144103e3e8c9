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
        from include.aptrust.deletion import requested_identifiers
        from include.aptrust.mail import deletion_request

        institution = self.registry.institution(self.institution)
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
            admins=self.registry.active_admins(institution["id"]),
            approval_link=link,
        )
        if not email.recipients:
            self.log.warning("%s has no active admin other than the requester to ask for approval", self.institution)
            return
        self.mail.send_plain(
            message_id=email.message_id, recipients=email.recipients, subject=email.subject, body=email.body
        )
        self.log.info("asked %s to approve", ", ".join(email.recipients))
