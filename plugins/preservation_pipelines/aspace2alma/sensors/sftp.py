"""The deferrable wait for Alma's Analytics report in the drop box."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException

from include.aspace2alma.params import REPORT_CUTOFF, REPORT_FRESH_AFTER
from include.common.eastern_time import EASTERN, eastern_day, eastern_instant
from preservation_pipelines.aspace2alma.operators.base import Aspace2AlmaBaseOperator


class SFTPFreshFileSensor(Aspace2AlmaBaseOperator, BaseSensorOperator):
    """Wait until one of ``<folder>/<names>`` was modified at or after ``fresh_after`` on the run's day.

    Gives up (fails, without retrying) at ``cutoff`` on the run's day. Looks once
    in the worker; if nothing is there yet it defers to `SFTPFreshFileTrigger`,
    freeing the worker slot while it waits. Returns the fresh file's path and mtime.
    The drop box is ``sftp_conn_id`` (an argument of ``Aspace2AlmaBaseOperator``).
    """

    template_fields = ("folder", "fresh_after", "cutoff")

    def __init__(
        self,
        *,
        names: list[str],
        fresh_after: str = REPORT_FRESH_AFTER.default,
        cutoff: str = REPORT_CUTOFF.default,
        deferrable: bool = True,
        poke_interval: float = 300.0,
        **kwargs,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.names = list(names)
        self.fresh_after = fresh_after
        self.cutoff = cutoff
        self.deferrable = deferrable

    def _window(self, context) -> tuple[datetime, datetime]:
        day = eastern_day(context["logical_date"])
        fresh_after = self.checked(REPORT_FRESH_AFTER, self.fresh_after)
        return eastern_instant(day, fresh_after), eastern_instant(day, self.checked(REPORT_CUTOFF, self.cutoff))

    def _paths(self) -> list[str]:
        return [self.dropbox_path(name) for name in self.names]

    def _fresh(self, context) -> dict[str, Any] | None:
        fresh_after, _ = self._window(context)
        for path in self._paths():
            modified = self.dropbox_hook.modified_at(path)
            if modified is not None and modified >= fresh_after:
                return {"status": "fresh", "path": path, "modified": modified.isoformat()}
        return None

    def poke(self, context) -> bool:
        fresh_after, cutoff = self._window(context)
        if self._fresh(context):
            return True
        if datetime.now(UTC) >= cutoff:
            self._give_up(fresh_after, cutoff)
        return False

    def execute(self, context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        event = self._fresh(context)
        if event:
            return self.execute_complete(context, event)
        from preservation_pipelines.aspace2alma.triggers.sftp import SFTPFreshFileTrigger

        fresh_after, cutoff = self._window(context)
        if datetime.now(UTC) >= cutoff:
            self._give_up(fresh_after, cutoff)
        self.log.info(
            "waiting for %s modified since %s, until %s",
            self._paths(),
            fresh_after.astimezone(EASTERN),
            cutoff.astimezone(EASTERN),
        )
        self.defer(
            trigger=SFTPFreshFileTrigger(
                paths=self._paths(),
                fresh_after=fresh_after.isoformat(),
                cutoff=cutoff.isoformat(),
                sftp_conn_id=self.sftp_conn_id,
                poke_interval=self.poke_interval,
            ),  # fmt: skip
            method_name="execute_complete",
            timeout=cutoff - datetime.now(UTC) + timedelta(minutes=5),
        )

    def execute_complete(self, context, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") != "fresh":
            fresh_after, cutoff = self._window(context)
            self._give_up(fresh_after, cutoff)
        self.log.info("found %s, modified %s", event["path"], event["modified"])
        return {"path": event["path"], "modified": event["modified"]}

    def _give_up(self, fresh_after: datetime, cutoff: datetime) -> None:
        raise AirflowFailException(
            f"no {' or '.join(self._paths())} modified since {fresh_after.astimezone(EASTERN):%Y-%m-%d %H:%M %Z} "
            f"by the cut-off {cutoff.astimezone(EASTERN):%H:%M %Z}: no export today"
        )
