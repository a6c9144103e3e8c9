"""Bulk deletion: the request validated before approval, the Delete WorkItems created after it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator

if TYPE_CHECKING:
    from include.aptrust.deletion import DeletionRequest, RegistryUser
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook


class ValidateDeletionListOperator(AptrustBaseOperator):
    """Judge the request and every identifier of it before anything is created.

    Fails without retry, naming each failing param or item and why (not an address,
    not an active registry user of the institution, not found, already deleted,
    pending work, another institution).
    """

    template_fields = ("institution", "requester", "identifiers")

    def __init__(self, *, institution: str, requester: str, identifiers: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.deletion import DeletionListRejected, IdentityRefused, check_deletion_list, requesting_user

        request = parsed_request(self.institution, self.requester, self.identifiers)
        institution_id = registry_institution_id(self.registry, request)
        try:
            requester = requesting_user(request, institution_id, self.registry.active_users)
            items = check_deletion_list(
                request.institution, request.identifiers, self.registry.lookup_items(request.identifiers)
            )
        except (IdentityRefused, DeletionListRejected) as rejected:
            raise AirflowFailException(str(rejected)) from None
        summary = {
            "institution": request.institution,
            "requester": requester.email,
            "objects": [item.identifier for item in items if item.kind == "object"],
            "files": [item.identifier for item in items if item.kind == "file"],
        }
        self.log.info("deletion list accepted: %s", summary)
        return summary


class CreateDeleteWorkItemsOperator(AptrustBaseOperator):
    """Create one Delete WorkItem per approved item and the confirmation email, in one transaction.

    The requester and the approver are checked again as registry users, and the items
    under row locks (things may have changed while the request waited for approval).
    Re-running returns the run's existing job instead.
    """

    template_fields = ("institution", "requester", "identifiers", "approval")

    def __init__(self, *, institution: str, requester: str, identifiers: Any, approval: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.approval = approval

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.deletion import DeletionListRejected, check_deletion_list
        from include.aptrust.mail import deletion_confirmation

        request_key = f"{context['dag'].dag_id}/{context['run_id']}"
        job = self.registry.bulk_delete_job(request_key)
        invalid_recipients: list[str] = []
        if job is None:
            request = parsed_request(self.institution, self.requester, self.identifiers)
            institution_id, requester, approver = checked_approval(
                self.registry, request, (self.approval or {}).get("responded_by_user"), context
            )

            def confirmation(deletions, admins):
                email = deletion_confirmation(
                    institution_id=institution_id,
                    institution=request.institution,
                    request_key=request_key,
                    requester=requester.email,
                    approver=approver.email,
                    deletions=deletions,
                    admins=admins,
                )
                invalid_recipients.extend(email.invalid_recipients)
                return email

            try:
                job = self.registry.create_bulk_delete_job(
                    request_key=request_key,
                    institution_id=institution_id,
                    requester=requester.email,
                    approver=approver.email,
                    check_items=lambda find: check_deletion_list(
                        request.institution, request.identifiers, find(request.identifiers)
                    ),
                    build_email=confirmation,
                )
            except DeletionListRejected as rejected:
                raise AirflowFailException(f"changed while awaiting approval: {rejected}") from None
            self.log.info("bulk delete job %d created: WorkItems %s", job["id"], job["work_item_ids"])
        else:
            self.log.info("bulk delete job %d exists already for %s", job["id"], request_key)
        self.report_problems(
            context, [f"confirmation: recipient left out: {invalid}" for invalid in invalid_recipients]
        )
        return {
            "job_id": job["id"],
            "requested_by": job["requested_by"],
            "approved_by": job["approved_by"],
            "work_item_ids": list(job["work_item_ids"]),
            "confirmation_email_id": job["confirmation_email_id"],
        }


def parsed_request(institution: Any, requester: Any, identifiers: Any) -> DeletionRequest:
    """The request's params parsed; a bad one fails the task at once (no retry), naming each."""
    from include.aptrust.deletion import DeletionListRejected, parse_deletion_request

    try:
        return parse_deletion_request(institution, requester, identifiers)
    except DeletionListRejected as rejected:
        raise AirflowFailException(str(rejected)) from None


def registry_institution_id(registry: AptrustRegistryHook, request: DeletionRequest) -> int:
    institution = registry.institution(request.institution)
    if institution is None:
        raise AirflowFailException(f"institution {request.institution!r} not found in the registry")
    return institution["id"]


def checked_approval(
    registry: AptrustRegistryHook, request: DeletionRequest, responder: Any, context
) -> tuple[int, RegistryUser, RegistryUser]:
    """(institution id, requester, approver) as registry users, or the task fails (no retry) saying why.

    ``responder`` is the approval's ``responded_by_user``; the Airflow user who
    triggered the run (who typed the requester's address) may not approve it either.
    """
    from include.aptrust.deletion import IdentityRefused, approving_users

    institution_id = registry_institution_id(registry, request)
    try:
        requester, approver = approving_users(
            request=request,
            institution_id=institution_id,
            responder=responder,
            triggered_by=getattr(context.get("dag_run"), "triggering_user_name", None),
            find_users=registry.active_users,
        )
    except IdentityRefused as refused:
        raise AirflowFailException(
            f"approval refused, nothing was created: {refused}; trigger the request again for another person to approve"
        ) from None
    return institution_id, requester, approver
