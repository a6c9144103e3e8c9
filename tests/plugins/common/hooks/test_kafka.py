"""The Kafka producer hook on the real broker: keyed messages confirmed by tag, failures and give-ups reported."""

from __future__ import annotations

import uuid

from tests.include.aptrust.fixtures import short_delivery_timeout, topic_values  # noqa: F401 - fixture


def test_produces_keyed_messages_and_reports_the_acknowledged_by_tag(kafka):
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook

    topic = f"restore_object_{uuid.uuid4().hex[:8]}"
    hook = KafkaTopicProducerHook()
    hook.ensure_topics([topic])
    for work_item_id in (41, 42):
        hook.produce(topic, key=str(work_item_id), value=str(work_item_id), tag=work_item_id)
    deliveries = hook.confirm(timeout=20)

    assert (sorted(deliveries.acknowledged), deliveries.failed, deliveries.unconfirmed) == ([41, 42], {}, 0)
    assert deliveries.all_acknowledged
    assert topic_values(kafka, topic) == ["41", "42"]


def test_nothing_is_acknowledged_while_the_broker_is_down(devstack, short_delivery_timeout):
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook

    devstack.stop(["kafka"])
    try:
        hook = KafkaTopicProducerHook(short_delivery_timeout)
        hook.produce("delete_item", key="7", value="7", tag=7)
        deliveries = hook.confirm(timeout=10)
    finally:
        devstack.start(["kafka"])
    assert deliveries.acknowledged == []
    assert list(deliveries.failed) == [7]
    assert not deliveries.all_acknowledged


def test_what_is_unanswered_when_confirm_gives_up_is_counted_and_not_acknowledged(kafka, devstack):
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook

    devstack.stop(["kafka"])
    try:
        hook = KafkaTopicProducerHook()  # message.timeout.ms 15 s: longer than the wait below
        hook.produce("delete_item", key="8", value="8")
        deliveries = hook.confirm(timeout=1)
    finally:
        devstack.start(["kafka"])
    assert deliveries.acknowledged == []
    assert deliveries.unconfirmed == 1
    assert not deliveries.all_acknowledged
