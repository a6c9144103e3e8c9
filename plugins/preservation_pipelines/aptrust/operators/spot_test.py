"""The monthly spot-test restore: one restore WorkItem per opted-in institution and month."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from preservation_pipelines.aptrust.operators.base import AptrustBaseOperator


def _reference_instant(context) -> datetime:
    """The instant a run stands for: its logical date, or when it was due for a run without one."""
    return context.get("logical_date") or context["dag_run"].run_after


class CreateSpotTestRestoresOperator(AptrustBaseOperator):
    """Create this month's spot-test restore WorkItem for every institution that opted in.

    WorkItems are committed un-queued; the queueing task publishes them. An institution
    that already has its spot test for the month is left alone, whatever re-ran. An
    institution whose registry data cannot be used (a frequency out of bounds, an object
    gone meanwhile) is listed under ``refused`` with the reason, and the others go on.
    """

    def execute(self, context) -> dict[str, Any]:
        from include.aptrust.spot_test import (
            candidate_order,
            choose,
            restored_since_cutoff,
            selection_seed,
            spot_test_month,
        )

        reference = _reference_instant(context)
        month = spot_test_month(reference)
        run_id = context["run_id"]
        summary: dict[str, Any] = {
            "month": month.isoformat(),
            "institutions": 0,
            "created": {},
            "already_had": {},
            "no_eligible_object": [],
            "refused": {},
        }
        institutions = self.registry.spot_test_institutions()
        for done, institution in enumerate(institutions, 1):
            summary["institutions"] += 1
            identifier = institution["identifier"]
            existing = self.registry.spot_test_of_month(institution["id"], month)
            if existing is not None:
                self.log.info("%s: spot test for %s exists already (WorkItem %d), skipped", identifier, month, existing)
                summary["already_had"][identifier] = existing
                continue
            try:
                cutoff = restored_since_cutoff(reference, institution["spot_restore_frequency"])
                order = candidate_order(
                    self.registry.active_object_ids(institution["id"]), selection_seed(run_id, institution["id"])
                )
                chosen = choose(order, lambda batch, cutoff=cutoff: self.registry.eligible_sizes(batch, cutoff))
                if chosen is None:
                    self.log.warning("%s: no object is eligible for a spot test (%d active)", identifier, len(order))
                    summary["no_eligible_object"].append(identifier)
                    continue
                work_item_id, created = self.registry.create_spot_test(
                    institution_id=institution["id"], month=month, object_id=chosen.object_id, dag_run_id=run_id
                )
            except ValueError as error:  # the registry's data, not the infrastructure: this institution only
                summary["refused"][identifier] = str(error)
                continue
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
        self.report_problems(context, [f"{name}: {reason}" for name, reason in summary["refused"].items()])
        return summary
