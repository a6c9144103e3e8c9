"""The devstack's moto server: an SQS queue's attributes computed when read, with moto's own values;
stream records numbered one at a time."""

from __future__ import annotations

import json
import threading
import time
import uuid
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import table as moto_table

from devstack.moto_server import QueueAttributes, in_turn

REGION = "us-east-1"


@pytest.fixture
def sqs_backend():
    with mock_aws():
        from moto.sqs.models import sqs_backends

        client = boto3.client("sqs", region_name=REGION)
        yield client, sqs_backends["123456789012"][REGION]


def _queues(client) -> dict[str, str]:
    """Queues of every shape moto's attributes depend on, with visible, in-flight and delayed messages."""
    dead_letters = client.create_queue(QueueName="dead-letters")["QueueUrl"]
    dead_letters_arn = client.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"]
    urls = {
        "plain": client.create_queue(QueueName="plain")["QueueUrl"],
        "fifo": client.create_queue(
            QueueName="ordered.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"],
        "redriven": client.create_queue(
            QueueName="redriven",
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letters_arn["QueueArn"], "maxReceiveCount": 3})
            },
        )["QueueUrl"],
        "encrypted": client.create_queue(QueueName="encrypted", Attributes={"KmsMasterKeyId": "alias/aws/sqs"})[
            "QueueUrl"
        ],
        "with-policy": client.create_queue(
            QueueName="with-policy", Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": []})}
        )["QueueUrl"],
    }
    for name, url in urls.items():
        group = {"MessageGroupId": "g"} if name == "fifo" else {}
        for n in range(3):
            client.send_message(QueueUrl=url, MessageBody=f"{name}-{n}", **group)
        if name != "fifo":
            client.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        client.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    return urls


def test_every_queue_shape_has_moto_s_own_attributes(sqs_backend):
    client, backend = sqs_backend
    queues = _queues(client)
    for name, url in queues.items():
        queue = backend.get_queue(url.rsplit("/", 1)[-1])
        moto_s_own = queue.attributes  # the property as moto defines it: this process does not replace it
        computed = QueueAttributes(queue)
        assert dict(computed) == moto_s_own, name
        assert list(computed) == list(moto_s_own), name
        assert len(computed) == len(moto_s_own)
        assert all(key in computed for key in moto_s_own)
    plain = backend.get_queue("plain")
    assert QueueAttributes(plain)["ApproximateNumberOfMessages"] == 2
    assert QueueAttributes(plain)["ApproximateNumberOfMessagesNotVisible"] == 1
    assert QueueAttributes(plain)["ApproximateNumberOfMessagesDelayed"] == 1


def test_a_name_that_is_no_attribute_of_the_queue_is_absent(sqs_backend):
    client, backend = sqs_backend
    client.create_queue(QueueName="plain")
    attributes = QueueAttributes(backend.get_queue("plain"))
    assert "ContentBasedDeduplication" not in attributes  # a FIFO queue's attribute
    assert attributes.get("ContentBasedDeduplication") is None
    with pytest.raises(KeyError):
        attributes["NoSuchAttribute"]


def test_the_devstack_server_keeps_deduplicating_and_counting(moto):
    """Through the server the devstack runs: content-based deduplication (read through the
    replaced property on every send) and the counts GetQueueAttributes reports."""
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook

    sqs = SqsHook(aws_conn_id="aws_default").get_conn()
    fifo = sqs.create_queue(
        QueueName=f"q{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for body in ("same", "same", "other"):
        sqs.send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId="g")
    attributes = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes["FifoQueue"] == "true"
    chosen = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages", "QueueArn"])
    assert set(chosen["Attributes"]) == {"ApproximateNumberOfMessages", "QueueArn"}


class SlowStreamRecord:
    """A stream record that takes long enough to build for another thread to number its own meanwhile."""

    def __init__(self, table, view_type, event_name, old, new, sequence_number) -> None:
        time.sleep(0.02)
        self.sequence_number = sequence_number


def _numbers_from_concurrent_adds(add, monkeypatch) -> list[int]:
    monkeypatch.setattr(moto_table, "StreamRecord", SlowStreamRecord)
    table = SimpleNamespace(
        stream_specification={"StreamViewType": "NEW_AND_OLD_IMAGES"}, lambda_event_source_mappings={}
    )
    shard = moto_table.StreamShard("123456789012", table)
    writers = [threading.Thread(target=add, args=(shard, None, {"n": n})) for n in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    return [record.sequence_number for record in shard.items]


def test_concurrent_writes_to_a_table_get_distinct_sequence_numbers(monkeypatch):
    numbers = _numbers_from_concurrent_adds(in_turn(moto_table.StreamShard.add), monkeypatch)
    assert len(numbers) == 8
    assert numbers == sorted(set(numbers))


def test_moto_s_own_add_numbers_concurrent_writes_alike(monkeypatch):
    """What the lock is for: without it, records built at the same time share a sequence number."""
    numbers = _numbers_from_concurrent_adds(moto_table.StreamShard.add, monkeypatch)
    assert len(set(numbers)) < len(numbers)
