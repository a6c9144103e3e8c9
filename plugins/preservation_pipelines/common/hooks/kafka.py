"""Producing to Kafka with every delivery confirmed, for every system that publishes.

One hook on the Kafka provider's ``KafkaProducerHook``. Its connection (``kafka_producer``)
holds producer settings only (``bootstrap.servers``, ``acks``, ``message.timeout.ms``...):
librdkafka's producer warns about consumer settings, and without ``message.timeout.ms``
it retries an unreachable broker for five minutes, so the bound lives in the connection.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook
from airflow.providers.apache.kafka.hooks.produce import KafkaProducerHook


@dataclass
class Deliveries:
    """What the broker said about the messages produced since the last confirmation."""

    acknowledged: list[Hashable] = field(default_factory=list)
    failed: dict[Hashable, str] = field(default_factory=dict)
    unconfirmed: int = 0  # neither acknowledged nor failed within the wait (then purged)

    @property
    def all_acknowledged(self) -> bool:
        return not self.failed and not self.unconfirmed


class KafkaTopicProducerHook(KafkaProducerHook):
    """Produce keyed messages to topics, then :meth:`confirm` waits for the broker's answers."""

    default_conn_name = "kafka_producer"

    def __init__(self, kafka_config_id: str = default_conn_name) -> None:
        super().__init__(kafka_config_id=kafka_config_id)
        self._pending = Deliveries()
        self.produced = 0

    def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create the topics that do not exist yet (one partition, replication 1)."""
        KafkaAdminClientHook(kafka_config_id=self.kafka_config_id).create_topic(
            [(topic, 1, 1) for topic in sorted(set(topics))]
        )

    def produce(self, topic: str, *, key: str, value: str, tag: Hashable | None = None) -> None:
        """Queue one message; ``tag`` (default: ``key``) names it in :meth:`confirm`'s answer."""
        tag = key if tag is None else tag
        producer = self.get_conn  # the provider caches it; get_producer() logs a line per call

        def delivered(error, _message) -> None:
            if error is None:
                self._pending.acknowledged.append(tag)
            else:
                self._pending.failed[tag] = str(error)

        while True:
            try:
                producer.produce(topic, key=key.encode(), value=value.encode(), on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain
                producer.poll(0.5)
        self.produced += 1
        producer.poll(0)

    def confirm(self, timeout: float) -> Deliveries:
        """Wait up to ``timeout`` seconds for every queued message's answer.

        What is still unanswered then is purged, so nothing stray reaches the broker
        after the caller has given up on it.
        """
        producer = self.get_conn
        unconfirmed = producer.flush(timeout)
        if unconfirmed:
            producer.purge()
            producer.flush(0)
        deliveries, self._pending = self._pending, Deliveries()
        deliveries.unconfirmed = unconfirmed
        return deliveries
