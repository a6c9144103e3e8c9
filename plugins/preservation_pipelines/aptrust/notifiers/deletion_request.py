"""Asking an institution's admins to approve a bulk deletion, when the approval task starts waiting."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier

from preservation_pipelines.aptrust.operators.base import AptrustHooks


class DeletionRequestNotifier(AptrustHooks, BaseNotifier):
    """Records a ``Deletion Requested`` alert to the institution's active admins (not the
    requester), once per run, and sends it, when the approval task starts waiting.

    The alert's text links the task's Required Actions page. A retried approval task finds
    the run's alert and sends only what is unsent. ``registry_conn_id`` and ``smtp_conn_id``
    as in ``AptrustBaseOperator``.
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
        from include.aptrust.deletion import IdentityRefused, requesting_user
        from include.aptrust.mail import DELETION_REQUESTED, deletion_requested
        from preservation_pipelines.aptrust.operators.alerts import send_recorded_alerts
        from preservation_pipelines.aptrust.operators.deletion import parsed_request, registry_institution_id
        from preservation_pipelines.aptrust.operators.deletion_request import recipient

        request = parsed_request(self.institution, self.requester, self.identifiers)
        institution_id = registry_institution_id(self.registry, request)
        try:
            requester = requesting_user(request, institution_id, self.registry.active_users)
        except IdentityRefused as refused:  # the approval will refuse it too
            self.log.error("no approval request recorded: %s", refused)
            return
        try:
            link = context["task"].generate_link_to_ui(task_instance=context["task_instance"])
        except ValueError:  # no [api] base_url configured
            link = None
        dag_id, run_id = context["dag"].dag_id, context["run_id"]
        alert_id, recorded = self.registry.record_run_alert_once(
            lambda admins: deletion_requested(
                institution_id=institution_id,
                institution=request.institution,
                requester=recipient(requester),
                identifiers=request.identifiers,
                admins=admins,
                approval_link=link,
            ),
            alert_type=DELETION_REQUESTED,
            institution_id=institution_id,
            dag_id=dag_id,
            dag_run_id=run_id,
        )
        self.log.info("approval request: alert %d (%s)", alert_id, "recorded now" if recorded else "recorded before")
        if recorded is not None and not recorded.user_ids:
            self.log.warning("%s has no active admin other than the requester to ask for approval", self.institution)
        summary = send_recorded_alerts(self, alert_id=alert_id)
        for name, error in summary["delivery_errors"].items():  # the request still waits under Required Actions
            self.log.error("the approval request could not be mailed: %s: %s", name, error)
