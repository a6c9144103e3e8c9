"""Bulk deletion: the list validated before approval, the Delete WorkItems created after it."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator


class ValidateDeletionListOperator(AptrustBaseOperator):
    """Judge every identifier of a deletion request before anything is created.

    Fails without retry, naming each failing item and why (not found, already deleted,
    pending work, another institution), when any item fails.
    """

    template_fields = ("institution", "requester", "identifiers")

    def __init__(self, *, institution: str, requester: str, identifiers: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.deletion import DeletionListRejected, check_deletion_list, requested_identifiers

        if "@" not in (self.requester or ""):
            raise AirflowFailException(f"requester {self.requester!r} is not an email address")
        if self.registry.institution(self.institution) is None:
            raise AirflowFailException(f"institution {self.institution!r} not found in the registry")
        identifiers = requested_identifiers(self.identifiers or [])
        try:
            items = check_deletion_list(self.institution, identifiers, self.registry.lookup_items(identifiers))
        except DeletionListRejected as rejected:
            raise AirflowFailException(str(rejected)) from None
        summary = {
            "institution": self.institution,
            "requester": self.requester,
            "objects": [item.identifier for item in items if item.kind == "object"],
            "files": [item.identifier for item in items if item.kind == "file"],
        }
        self.log.info("deletion list accepted: %s", summary)
        return summary


class CreateDeleteWorkItemsOperator(AptrustBaseOperator):
    """Create one Delete WorkItem per approved item and the confirmation email, in one transaction.

    Items are checked again under row locks (things may have changed while the request
    waited for approval). Re-running returns the run's existing job instead.
    """

    template_fields = ("institution", "requester", "identifiers", "approval")

    def __init__(self, *, institution: str, requester: str, identifiers: Any, approval: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.approval = approval

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.deletion import DeletionListRejected, check_deletion_list, requested_identifiers
        from include.aptrust.mail import deletion_confirmation

        request_key = f"{context['dag'].dag_id}/{context['run_id']}"
        job = self.registry.bulk_delete_job(request_key)
        if job is None:
            approver = approver_of(self.approval)
            institution = self.registry.institution(self.institution)
            identifiers = requested_identifiers(self.identifiers or [])
            try:
                job = self.registry.create_bulk_delete_job(
                    request_key=request_key,
                    institution_id=institution["id"],
                    requester=self.requester,
                    approver=approver,
                    check_items=lambda find: check_deletion_list(self.institution, identifiers, find(identifiers)),
                    build_email=lambda deletions, admins: deletion_confirmation(
                        institution_id=institution["id"],
                        institution=self.institution,
                        request_key=request_key,
                        requester=self.requester,
                        approver=approver,
                        deletions=deletions,
                        admins=admins,
                    ),
                )
            except DeletionListRejected as rejected:
                raise AirflowFailException(f"changed while awaiting approval: {rejected}") from None
            self.log.info("bulk delete job %d created: WorkItems %s", job["id"], job["work_item_ids"])
        else:
            self.log.info("bulk delete job %d exists already for %s", job["id"], request_key)
        return {
            "job_id": job["id"],
            "requested_by": job["requested_by"],
            "approved_by": job["approved_by"],
            "work_item_ids": list(job["work_item_ids"]),
            "confirmation_email_id": job["confirmation_email_id"],
        }


def approver_of(approval: dict[str, Any]) -> str:
    """Who approved, from the approval task's result: the Airflow user's name (or id)."""
    user = (approval or {}).get("responded_by_user") or {}
    approver = user.get("name") or user.get("id")
    if not approver:
        raise AirflowFailException("the approval carries no approving user; refusing to create deletions")
    return str(approver)
