"""Resend the messages of assets stuck on a confirmer queue longer than the queue keeps messages."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException

from include.postingest.resender import StuckMessageResender
from preservation_pipelines.postingest.operators.base import PostingestBaseOperator, refused_at_once


class ResendStuckMessagesOperator(PostingestBaseOperator):
    """Re-send the message of every item waiting on a queue for longer than the queue's retention.

    Returns counts per queue. Items whose message cannot be built or is too large are
    skipped and listed under ``unsendable``; items whose send failed are put back as
    they were and the task fails after the whole pass, so a retry sends exactly those.
    """

    def execute(self, context) -> dict[str, Any]:
        config = self.queue_config()
        with refused_at_once():
            summary = StuckMessageResender(state=self.state_table, queues=self.confirmer_queues, config=config).run()
        summary["items_read"] = self.state_table.items_read
        summary["sqs_calls"] = self.confirmer_queues.calls
        if summary["send_failures"]:
            failed = ", ".join(f"{f['assetId']} ({f['queue']}: {f['error']})" for f in summary["send_failures"][:10])
            raise AirflowException(
                f"{len(summary['send_failures'])} resend(s) failed and were put back for the retry: {failed}"
            )
        return summary
