"""The preservation workers' queue: one Kafka topic per WorkItem action, through the Kafka provider.

A queued WorkItem is its id as a decimal string on the topic for its action. The
caller learns which messages the broker acknowledged, and only those count as queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook
from airflow.providers.apache.kafka.hooks.produce import KafkaProducerHook

# Without a bound, librdkafka keeps retrying an unreachable broker for five minutes.
DELIVERY_TIMEOUT_MS = 15_000


class WorkQueueError(RuntimeError):
    pass


class WorkQueueHook(KafkaProducerHook):
    def __init__(self, kafka_config_id: str = "kafka_default", delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS) -> None:
        super().__init__(kafka_config_id=kafka_config_id)
        self.delivery_timeout_ms = delivery_timeout_ms

    def _get_client(self, config):
        from confluent_kafka import Producer

        producer_config = {
            key: value
            for key, value in config.items()
            if key not in ("group.id", "session.timeout.ms", "auto.offset.reset")  # consumer-only settings
        }
        producer_config.setdefault("message.timeout.ms", self.delivery_timeout_ms)
        producer_config.setdefault("acks", "all")
        return Producer(producer_config)

    def ensure_topics(self, topics: Iterable[str]) -> None:
        KafkaAdminClientHook(kafka_config_id=self.kafka_config_id).create_topic(
            [(topic, 1, 1) for topic in sorted(set(topics))]
        )

    def publish_work_items(self, items: Sequence[tuple[str, int]]) -> tuple[list[int], dict[int, str]]:
        """Publish each (topic, work item id); returns (acknowledged ids, {id: error}) in order."""
        producer = self.get_producer()
        acknowledged: list[int] = []
        failed: dict[int, str] = {}

        def delivered(work_item_id: int):
            def report(error, message) -> None:
                if error is None:
                    acknowledged.append(work_item_id)
                else:
                    failed[work_item_id] = str(error)

            return report

        for topic, work_item_id in items:
            producer.produce(
                topic,
                value=str(work_item_id).encode(),
                key=str(work_item_id).encode(),
                on_delivery=delivered(work_item_id),
            )
            producer.poll(0)
        remaining = producer.flush(self.delivery_timeout_ms / 1000 + 5)
        if remaining:
            self.log.warning("%d message(s) neither acknowledged nor failed after the delivery timeout", remaining)
        return acknowledged, failed
