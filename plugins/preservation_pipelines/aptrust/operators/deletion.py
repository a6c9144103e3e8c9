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
    """Record the confirmed deletion request, one Delete WorkItem per approved item and the
    ``Deletion Confirmed`` alert, in one transaction.

    The requester and the approver are checked again as registry users, and the items
    under row locks (things may have changed while the request waited for approval).
    Re-running returns the run's recorded request instead.
    """

    template_fields = ("institution", "requester", "identifiers", "approval")

    def __init__(self, *, institution: str, requester: str, identifiers: Any, approval: Any, **kwargs) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.approval = approval

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.deletion import DeletionDecision, DeletionListRejected, check_deletion_list
        from include.aptrust.mail import deletion_confirmed
        from preservation_pipelines.aptrust.operators.deletion_request import (
            deletion_request_of_run,
            recipient,
            record_decision,
        )

        recorded = deletion_request_of_run(self.registry, context)
        if recorded is None:
            request = parsed_request(self.institution, self.requester, self.identifiers)
            institution_id, requester, approver = checked_approval(
                self.registry, request, (self.approval or {}).get("responded_by_user"), context
            )
            try:
                recorded = record_decision(
                    self.registry,
                    context,
                    DeletionDecision(institution_id, requester, confirmed_by=approver),
                    items_of=lambda find: check_deletion_list(
                        request.institution, request.identifiers, find(request.identifiers)
                    ),
                    build_alert=lambda deletions, admins: deletion_confirmed(
                        institution_id=institution_id,
                        institution=request.institution,
                        requester=recipient(requester),
                        approver=recipient(approver),
                        deletions=deletions,
                        admins=admins,
                    ),
                )
            except DeletionListRejected as rejected:
                raise AirflowFailException(f"changed while awaiting approval: {rejected}") from None
            self.log.info(
                "deletion request %d confirmed: WorkItems %s",
                recorded["deletion_request_id"],
                recorded["work_item_ids"],
            )
        else:
            self.log.info("deletion request %d exists already for this run", recorded["deletion_request_id"])
        if recorded["confirmed_at"] is None:
            raise AirflowFailException(
                f"this run's deletion request {recorded['deletion_request_id']} was cancelled; trigger a new run"
            )
        return {
            "deletion_request_id": recorded["deletion_request_id"],
            "requested_by": recorded["requested_by"],
            "confirmed_by": recorded["confirmed_by"],
            "work_item_ids": list(recorded["work_item_ids"]),
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
