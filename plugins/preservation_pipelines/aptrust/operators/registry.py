"""Operators of the APTrust registry DAGs: each does one step against the registry, queue or mail.

Hooks and domain modules are imported inside execute(): the postgres, Kafka and SMTP
providers would otherwise weigh on every DAG parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException


def _reference_instant(context) -> datetime:
    """The instant a run stands for: its logical date, or when it was due for a run without one."""
    return context.get("logical_date") or context["dag_run"].run_after


class CreateSpotTestRestoresOperator(BaseOperator):
    """Create this month's spot-test restore WorkItem for every institution that opted in.

    WorkItems are committed un-queued; the queueing task publishes them. An institution
    that already has its spot test for the month is left alone, whatever re-ran.
    """

    def __init__(self, *, registry_conn_id: str = "aptrust_registry", **kwargs) -> None:
        super().__init__(**kwargs)
        self.registry_conn_id = registry_conn_id

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.spot_test import (
            candidate_order,
            choose,
            restored_since_cutoff,
            selection_seed,
            spot_test_month,
        )
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

        registry = AptrustRegistryHook(self.registry_conn_id)
        reference = _reference_instant(context)
        month = spot_test_month(reference)
        run_id = context["run_id"]
        summary: dict[str, Any] = {
            "month": month.isoformat(),
            "institutions": 0,
            "created": {},
            "already_had": {},
            "no_eligible_object": [],
        }
        institutions = registry.spot_test_institutions()
        for done, institution in enumerate(institutions, 1):
            summary["institutions"] += 1
            identifier = institution["identifier"]
            existing = registry.spot_test_of_month(institution["id"], month)
            if existing is not None:
                self.log.info("%s: spot test for %s exists already (WorkItem %d), skipped", identifier, month, existing)
                summary["already_had"][identifier] = existing
                continue
            cutoff = restored_since_cutoff(reference, institution["spot_restore_frequency"])
            order = candidate_order(
                registry.active_object_ids(institution["id"]), selection_seed(run_id, institution["id"])
            )
            chosen = choose(order, lambda batch, cutoff=cutoff: registry.eligible_sizes(batch, cutoff))
            if chosen is None:
                self.log.warning("%s: no object is eligible for a spot test (%d active)", identifier, len(order))
                summary["no_eligible_object"].append(identifier)
                continue
            work_item_id, created = registry.create_spot_test(
                institution_id=institution["id"], month=month, object_id=chosen.object_id, dag_run_id=run_id
            )
            (summary["created"] if created else summary["already_had"])[identifier] = work_item_id
            self.log.info(
                "%s: object %d (%d bytes) -> WorkItem %d%s [%d/%d]",
                identifier,
                chosen.object_id,
                chosen.size,
                work_item_id,
                "" if created else " (existing)",
                done,
                len(institutions),
            )
        summary["work_item_ids"] = sorted([*summary["created"].values(), *summary["already_had"].values()])
        self.log.info("spot tests for %s: %s", month, summary)
        return summary


class QueueWorkItemsOperator(BaseOperator):
    """Publish WorkItems not queued yet to their action's topic; ``queued_at`` only after the ack.

    Items already queued are skipped, so a retry after a broker failure publishes each
    item once. Fails (to be retried) if the broker acknowledged fewer than all.
    """

    template_fields = ("work_item_ids",)

    def __init__(
        self,
        *,
        work_item_ids: Sequence[int] | Any,
        registry_conn_id: str = "aptrust_registry",
        kafka_conn_id: str = "kafka_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.work_item_ids = work_item_ids
        self.registry_conn_id = registry_conn_id
        self.kafka_conn_id = kafka_conn_id

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.work_items import topic_for
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook
        from preservation_pipelines.aptrust.hooks.work_queue import WorkQueueError, WorkQueueHook

        ids = sorted(int(work_item_id) for work_item_id in self.work_item_ids or [])
        registry = AptrustRegistryHook(self.registry_conn_id)
        queue = WorkQueueHook(self.kafka_conn_id)
        with registry.unqueued_work_items(ids) as (unqueued, mark_queued):
            to_publish = [(topic_for(row["action"]), row["id"]) for row in unqueued]
            acknowledged, failed = [], {}
            if to_publish:
                queue.ensure_topics(topic for topic, _ in to_publish)
                acknowledged, failed = queue.publish_work_items(to_publish)
            mark_queued(acknowledged)
        summary = {
            "requested": len(ids),
            "queued": sorted(acknowledged),
            "already_queued": len(ids) - len(unqueued),
            "not_acknowledged": sorted(set(row["id"] for row in unqueued) - set(acknowledged)),
        }
        self.log.info("queue summary: %s", summary)
        if summary["not_acknowledged"]:
            raise WorkQueueError(
                f"broker did not acknowledge WorkItems {summary['not_acknowledged']} "
                f"({'; '.join(sorted(set(failed.values()))) or 'timed out'}); they stay un-queued for the retry"
            )
        return summary


class RecordRestoreDigestsOperator(BaseOperator):
    """Store one digest email per institution for new successful restores and mark them notified.

    The stored emails and the marks are one transaction (the outbox): what is to be
    sent is never lost and no item is put in two digests.
    """

    def __init__(
        self, *, lookback: timedelta = timedelta(days=7), registry_conn_id: str = "aptrust_registry", **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.lookback = lookback
        self.registry_conn_id = registry_conn_id

    def execute(self, context) -> list[int]:
        from include.aptrust.mail import restore_digests
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

        not_before = datetime.now(UTC) - self.lookback
        email_ids = AptrustRegistryHook(self.registry_conn_id).record_restore_digests(not_before, restore_digests)
        self.log.info("stored %d digest email(s): %s", len(email_ids), email_ids)
        return email_ids


class SendStoredEmailsOperator(BaseOperator):
    """Send stored emails not sent yet (all of ``email_type``, or the one ``email_id``).

    Each is marked sent once the SMTP server accepted it; recipients the server refused
    are recorded on the row. If every recipient is refused, the row records the error
    and is not retried. A crash between sending and marking sends that email again on
    the retry, with the same Message-ID (at-least-once).
    """

    template_fields = ("email_id",)

    def __init__(
        self,
        *,
        email_type: str | None = None,
        email_id: int | Any = None,
        registry_conn_id: str = "aptrust_registry",
        smtp_conn_id: str = "smtp_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if (email_type is None) == (email_id is None):
            raise ValueError("give exactly one of email_type and email_id")
        self.email_type = email_type
        self.email_id = email_id
        self.registry_conn_id = registry_conn_id
        self.smtp_conn_id = smtp_conn_id

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook
        from preservation_pipelines.common.hooks.mail import EveryRecipientRefused, MailHook

        registry = AptrustRegistryHook(self.registry_conn_id)
        mail = MailHook(self.smtp_conn_id)
        emails = (
            registry.unsent_emails(self.email_type) if self.email_type else registry.unsent_email(int(self.email_id))
        )
        summary: dict[str, Any] = {"sent": [], "refused_recipients": {}, "failed": {}, "no_recipients": []}
        for email in emails:
            if not email["recipients"]:
                registry.mark_email_failed(email["id"], "no recipients", [])
                summary["no_recipients"].append(email["id"])
                continue
            try:
                refused = mail.send_plain(
                    message_id=email["message_id"],
                    recipients=email["recipients"],
                    subject=email["subject"],
                    body=email["body"],
                )
            except EveryRecipientRefused as error:
                registry.mark_email_failed(email["id"], str(error), sorted(error.refused))
                summary["failed"][email["id"]] = str(error)
                self.log.error("email %d not delivered: %s", email["id"], error)
                continue
            registry.mark_email_sent(email["id"], refused)
            summary["sent"].append(email["id"])
            if refused:
                summary["refused_recipients"][email["id"]] = refused
        self.log.info("email summary: %s", summary)
        return summary


class ValidateDeletionListOperator(BaseOperator):
    """Judge every identifier of a deletion request before anything is created.

    Fails without retry, naming each failing item and why (not found, already deleted,
    pending work, another institution), when any item fails.
    """

    template_fields = ("institution", "requester", "identifiers")

    def __init__(
        self,
        *,
        institution: str,
        requester: str,
        identifiers: Any,
        registry_conn_id: str = "aptrust_registry",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.registry_conn_id = registry_conn_id

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.deletion import DeletionListRejected, check_deletion_list, requested_identifiers
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

        if "@" not in (self.requester or ""):
            raise AirflowFailException(f"requester {self.requester!r} is not an email address")
        registry = AptrustRegistryHook(self.registry_conn_id)
        if registry.institution(self.institution) is None:
            raise AirflowFailException(f"institution {self.institution!r} not found in the registry")
        identifiers = requested_identifiers(self.identifiers or [])
        try:
            items = check_deletion_list(self.institution, identifiers, registry.lookup_items(identifiers))
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


class CreateDeleteWorkItemsOperator(BaseOperator):
    """Create one Delete WorkItem per approved item and the confirmation email, in one transaction.

    Items are checked again under row locks (things may have changed while the request
    waited for approval). Re-running returns the run's existing job instead.
    """

    template_fields = ("institution", "requester", "identifiers", "approval")

    def __init__(
        self,
        *,
        institution: str,
        requester: str,
        identifiers: Any,
        approval: Any,
        registry_conn_id: str = "aptrust_registry",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.institution = institution
        self.requester = requester
        self.identifiers = identifiers
        self.approval = approval
        self.registry_conn_id = registry_conn_id

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.deletion import DeletionListRejected, check_deletion_list, requested_identifiers
        from include.aptrust.mail import deletion_confirmation
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

        registry = AptrustRegistryHook(self.registry_conn_id)
        request_key = f"{context['dag'].dag_id}/{context['run_id']}"
        job = registry.bulk_delete_job(request_key)
        if job is None:
            approver = approver_of(self.approval)
            institution = registry.institution(self.institution)
            identifiers = requested_identifiers(self.identifiers or [])
            try:
                job = registry.create_bulk_delete_job(
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
