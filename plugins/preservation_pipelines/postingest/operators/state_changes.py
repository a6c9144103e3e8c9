"""Apply the state table's stream: queue, move and announce each asset, from a checkpoint."""

from __future__ import annotations

from typing import Any

from include.common.variables import variable_or_default
from include.postingest.limits import (
    CONCURRENCY_RANGE,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_RECORDS,
    MAX_RECORDS_RANGE,
    PAGE_SIZE_RANGE,
    bounded_int,
    kafka_message_limit,
)
from include.postingest.names import (
    CHECKPOINT_TABLE,
    CHECKPOINT_TABLE_VARIABLE,
    NOTIFICATIONS_TOPIC,
    TABLE_NAME_PATTERN,
    TOPIC_NAME_PATTERN,
    TOPIC_VARIABLE,
    checked_name,
)
from preservation_pipelines.postingest.operators.base import PostingestBaseOperator, refused_at_once


class ApplyStateChangesOperator(PostingestBaseOperator):
    """Read the state table's stream from its checkpoint and apply every record once in effect.

    Sends to confirmer queues (SQS), moves or deletes items (DynamoDB) and announces
    on the notifications topic (Kafka), each page's notifications confirmed by the
    broker (waiting up to ``delivery_timeout`` seconds) before its checkpoint; up to
    ``concurrency`` assets are applied at once, each asset's records in stream order. Records
    that cannot be decided or encoded (whatever their types, sizes or nesting) are
    parked in ``checkpoint_table`` and listed in the returned summary under ``parked``.
    ``checkpoint_table`` and ``topic`` default to the templates of Variables
    ``postingest_checkpoint_table`` and ``postingest_topic`` (their default names while unset).
    Bad parameters, settings or queue config fail at once, without retries.
    """

    template_fields = (
        *PostingestBaseOperator.template_fields,
        "checkpoint_table",
        "topic",
        "max_records",
        "concurrency",
    )

    def __init__(
        self,
        *,
        checkpoint_table: str = variable_or_default(CHECKPOINT_TABLE_VARIABLE, CHECKPOINT_TABLE),
        topic: str = variable_or_default(TOPIC_VARIABLE, NOTIFICATIONS_TOPIC),
        page_size: int = 100,
        max_records: int | str = DEFAULT_MAX_RECORDS,
        concurrency: int | str = DEFAULT_CONCURRENCY,
        delivery_timeout: float = 30.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.checkpoint_table = checkpoint_table
        self.topic = topic
        self.page_size = page_size
        self.max_records = max_records
        self.concurrency = concurrency
        self.delivery_timeout = delivery_timeout

    @property
    def _state_table_parameters(self) -> dict[str, Any]:
        return {**super()._state_table_parameters, "checkpoint_table": self.checkpoint_table}

    def execute(self, context) -> dict[str, Any]:
        from include.postingest.applier import StateChangeApplier  # decodes with boto3's types: not at parse time

        config = self.queue_config()
        with refused_at_once():
            checked_name(self.checkpoint_table, TABLE_NAME_PATTERN, f"Variable {CHECKPOINT_TABLE_VARIABLE}")
            checked_name(self.topic, TOPIC_NAME_PATTERN, f"Variable {TOPIC_VARIABLE}")
            max_records = bounded_int(self.max_records, "max_records", MAX_RECORDS_RANGE)
            page_size = bounded_int(self.page_size, "page_size", PAGE_SIZE_RANGE)
            concurrency = bounded_int(self.concurrency, "concurrency", CONCURRENCY_RANGE)
            producer = self.notification_producer
            notification_bytes = kafka_message_limit(
                producer.get_connection(producer.kafka_config_id).extra_dejson.get("message.max.bytes")
            )
            self.state_table.ensure_checkpoint_table()
            applier = StateChangeApplier(
                state=self.state_table,
                queues=self.confirmer_queues,
                publisher=producer,
                config=config,
                topic=self.topic,
                concurrency=concurrency,
                delivery_timeout=self.delivery_timeout,
                notification_bytes=notification_bytes,
            )
            return applier.run(page_size=page_size, max_records=max_records)
