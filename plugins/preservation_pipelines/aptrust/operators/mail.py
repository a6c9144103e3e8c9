"""Restore digests: ``Restoration Completed`` alerts recorded with their links (sent by ``SendAlertsOperator``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator


class RecordRestoreDigestsOperator(AptrustBaseOperator):
    """Record one ``Restoration Completed`` alert per institution for the successful restores not yet
    linked to such an alert, linking every one of them.

    The alerts, their recipients, links and ``dag_alerts`` rows are one transaction (the
    outbox): what is to be sent is never lost, and a linked item counts as notified, so no
    item is in two digests (nor in one after the registry's own per-item alert). A requester
    with no active registry user cannot receive it; they are listed in the result.
    """

    def __init__(self, *, lookback: timedelta = timedelta(days=7), **kwargs) -> None:
        super().__init__(**kwargs)
        self.lookback = lookback

    def execute(self, context) -> dict[str, Any]:
        recorded, requesters_without_user = self.record(
            datetime.now(UTC) - self.lookback, dag_id=context["dag"].dag_id, dag_run_id=context["run_id"]
        )
        summary = {
            "alerts": {
                alert_id: f"{alert.institution}: {alert.subject}, {len(alert.linked_ids)} item(s), "
                f"{len(alert.user_ids)} recipient(s)"
                for alert_id, alert in recorded.items()
            },
            "requesters_without_registry_user": requesters_without_user,
        }
        for requester in requesters_without_user:
            self.log.warning("requester %s has no active registry user: not a recipient", requester)
        self.log.info("restore digests: %s", summary)
        return summary

    def record(self, not_before: datetime, *, dag_id: str, dag_run_id: str) -> tuple[dict[int, Any], list[str]]:
        """Lock the successful restores not yet linked to a ``Restoration Completed`` alert (``FOR UPDATE
        SKIP LOCKED``) and record one such alert per institution linking them; one transaction.

        Returns ({alert id: PlannedAlert}, the requesters with no active registry user).
        """
        from include.aptrust import sql
        from include.aptrust.alerts import Recipient
        from include.aptrust.mail import RestoredItem, requester_key, restore_digests
        from preservation_pipelines.aptrust.hooks.registry import _rows

        registry = self.registry
        with registry.transaction() as cursor:
            cursor.execute(sql.RESTORES_TO_NOTIFY, {"not_before": not_before})
            items = [RestoredItem(**row) for row in _rows(cursor)]
            if not items:
                return {}, []
            admins = registry.institution_admins(cursor, sorted({item.institution_id for item in items}))
            keys = sorted({key for item in items if (key := requester_key(item.requester))})
            cursor.execute(sql.ACTIVE_USERS_BY_KEYS, {"keys": keys})
            requesters: dict[str, Recipient] = {}
            for row in _rows(cursor):
                requesters.setdefault(row.pop("key"), Recipient(**row))
            plan = restore_digests(items, admins, requesters)
            recorded = {
                registry.insert_alert(cursor, alert, dag_id=dag_id, dag_run_id=dag_run_id): alert
                for alert in plan.alerts
            }
            return recorded, plan.requesters_without_user
