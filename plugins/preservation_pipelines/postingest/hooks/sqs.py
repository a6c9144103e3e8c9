"""The confirmer queues, on the amazon provider's SqsHook: batch sends with partial-failure handling.

SqsHook only sends single messages; SendMessageBatch answers per entry, and entries
that failed through no fault of the sender (throttling) are worth sending again.
"""

from __future__ import annotations

import threading
import time

from airflow.providers.amazon.aws.hooks.sqs import SqsHook
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from include.postingest.limits import CONCURRENCY_RANGE


class ConfirmerQueueHook(SqsHook):
    """Confirmer queues: batch sends (``batch_limit`` entries a call, SQS takes up to 10), retention;
    ``calls`` counts SQS API calls. Batches may be sent from several threads at once."""

    BATCH_LIMIT = 10

    def __init__(
        self, *args, batch_attempts: int = 4, retry_delay: float = 0.5, batch_limit: int = BATCH_LIMIT, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.batch_attempts = batch_attempts
        self.retry_delay = retry_delay
        self.batch_limit = batch_limit
        self.calls = 0
        self._counting = threading.Lock()

    @property
    def config(self) -> Config:
        """The connection's botocore settings, with a connection for each of the applier's threads."""
        return super().config.merge(Config(max_pool_connections=CONCURRENCY_RANGE[1]))

    def _count_call(self) -> None:
        with self._counting:
            self.calls += 1

    def queue_attributes(self, queue_url: str) -> dict[str, str]:
        """The queue's ``MessageRetentionPeriod`` and ``MaximumMessageSize``; ``{}`` if they cannot be read
        (the callers then assume SQS's defaults, see :mod:`include.postingest.limits`)."""
        self._count_call()
        try:
            attributes = self.get_conn().get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["MessageRetentionPeriod", "MaximumMessageSize"]
            )
        except (ClientError, BotoCoreError) as error:
            self.log.warning("%s: cannot read the queue's attributes (%s); assuming SQS's defaults", queue_url, error)
            return {}
        return attributes.get("Attributes", {})

    def send_batch(self, queue_url: str, bodies: list[str]) -> dict[int, str]:
        """Send up to ``batch_limit`` bodies with SendMessageBatch; returns ``{index: reason}`` of those not sent.

        Entries that failed through no fault of the sender (throttling, service
        errors) are sent again, with backoff, up to ``batch_attempts`` calls; sender
        faults are final. A call that fails as a whole counts as every entry failing.
        """
        if len(bodies) > self.batch_limit:
            raise ValueError(f"SendMessageBatch takes at most {self.batch_limit} entries, got {len(bodies)}")
        pending = dict(enumerate(bodies))
        failed: dict[int, str] = {}
        for attempt in range(self.batch_attempts):
            if attempt:
                time.sleep(self.retry_delay * 2 ** (attempt - 1))
            entries = [{"Id": str(index), "MessageBody": body} for index, body in pending.items()]
            self._count_call()
            try:
                response = self.get_conn().send_message_batch(QueueUrl=queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                reason = f"SendMessageBatch failed: {error}"
                self.log.warning("%s: %s (attempt %d)", queue_url, reason, attempt + 1)
                failed.update({index: reason for index in pending})
                continue
            for sent in response.get("Successful", []):
                pending.pop(int(sent["Id"]), None)
                failed.pop(int(sent["Id"]), None)
            for entry in response.get("Failed", []):
                index = int(entry["Id"])
                failed[index] = f"{entry.get('Code')}: {entry.get('Message', '')}"
                if entry.get("SenderFault"):
                    pending.pop(index, None)
            if not pending:
                break
        return {index: failed[index] for index in sorted(failed)}
