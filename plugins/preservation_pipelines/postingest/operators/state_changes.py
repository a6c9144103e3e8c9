"""Apply the state table's stream: queue, move and announce each asset, from a checkpoint."""

from __future__ import annotations

from typing import Any

from include.postingest.applier import StateChangeApplier
from preservation_pipelines.postingest.operators.base import PostingestBaseOperator


class ApplyStateChangesOperator(PostingestBaseOperator):
    """Read the state table's stream from its checkpoint and apply every record once in effect.

    Sends to confirmer queues (SQS), moves or deletes items (DynamoDB) and announces
    on the notifications topic (Kafka), each page's notifications confirmed by the
    broker (waiting up to ``delivery_timeout`` seconds) before its checkpoint. Records
    that can never be applied are parked in ``checkpoint_table`` and listed in the
    returned summary under ``parked``.
    """

    template_fields = (*PostingestBaseOperator.template_fields, "checkpoint_table", "topic", "max_records")

    def __init__(
        self,
        *,
        checkpoint_table: str,
        topic: str,
        page_size: int = 100,
        max_records: int | str = 50_000,
        delivery_timeout: float = 30.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.checkpoint_table = checkpoint_table
        self.topic = topic
        self.page_size = page_size
        self.max_records = max_records
        self.delivery_timeout = delivery_timeout

    @property
    def _state_table_parameters(self) -> dict[str, Any]:
        return {**super()._state_table_parameters, "checkpoint_table": self.checkpoint_table}

    def execute(self, context) -> dict[str, Any]:
        config = self.queue_config()
        self.state_table.ensure_checkpoint_table()
        applier = StateChangeApplier(
            state=self.state_table,
            queues=self.confirmer_queues,
            publisher=self.notification_producer,
            config=config,
            topic=self.topic,
            delivery_timeout=self.delivery_timeout,
        )
        return applier.run(page_size=self.page_size, max_records=int(self.max_records))
