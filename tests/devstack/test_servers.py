"""Each devstack server answers its real client through the Airflow connection the DAGs use."""

from __future__ import annotations

import os
import shutil
import smtplib
import uuid
from email.message import EmailMessage

import pytest

from devstack.process import port_is_open
from devstack.stack import Devstack, configured_ports


def test_sftp_accepts_the_connection_key_and_checks_the_host_key(sftp):
    from airflow.providers.sftp.hooks.sftp import SFTPHook

    hook = SFTPHook(ssh_conn_id="lib_sftp")
    hook.store_file("/alma/aspace/hello.txt", str(sftp.client_key.with_suffix(".pub")))
    assert "hello.txt" in hook.list_directory("/alma/aspace")
    assert sftp.local_path("/alma/aspace/hello.txt").read_bytes() == sftp.client_key.with_suffix(".pub").read_bytes()
    hook.delete_file("/alma/aspace/hello.txt")


def test_sftp_refuses_a_wrong_host_key(sftp, monkeypatch):
    import json

    from airflow.providers.sftp.hooks.sftp import SFTPHook

    conn = json.loads(os.environ["AIRFLOW_CONN_LIB_SFTP"])
    conn["extra"]["host_key"] = " ".join(sftp.client_key.with_suffix(".pub").read_text().split()[:2])
    monkeypatch.setenv("AIRFLOW_CONN_LIB_SFTP", json.dumps(conn))
    with pytest.raises(Exception, match="(?i)host key"):
        SFTPHook(ssh_conn_id="lib_sftp").list_directory("/alma/aspace")


def test_zookeeper_serves_kazoo(zookeeper):
    from kazoo.client import KazooClient

    client = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}")
    client.start(timeout=10)
    try:
        path = f"/devstack-test/{uuid.uuid4()}"
        client.create(path, b"payload", makepath=True)
        assert client.get(path)[0] == b"payload"
    finally:
        client.stop()


def test_moto_serves_dynamodb_and_sqs_through_the_aws_connection(moto):
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook

    table_name = f"t{uuid.uuid4().hex[:8]}"
    dynamodb = DynamoDBHook(aws_conn_id="aws_default").get_conn()
    table = dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.put_item(Item={"id": "a", "n": 1})
    assert table.get_item(Key={"id": "a"})["Item"]["n"] == 1

    sqs = SqsHook(aws_conn_id="aws_default").get_conn()
    queue_url = sqs.create_queue(QueueName=f"q{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in messages] == ["hello"]


def test_kafka_round_trips_a_message_through_the_kafka_connection(kafka):
    from airflow.providers.apache.kafka.hooks.consume import KafkaConsumerHook
    from airflow.providers.apache.kafka.hooks.produce import KafkaProducerHook

    topic = f"devstack-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducerHook(kafka_config_id="kafka_default").get_producer()
    producer.produce(topic, value=b"hello")
    assert producer.flush(10) == 0

    consumer = KafkaConsumerHook(topics=[topic], kafka_config_id="kafka_default").get_consumer()
    try:
        values = []
        for _ in range(30):
            message = consumer.poll(1)
            if message is not None and not message.error():
                values.append(message.value())
                break
        assert values == [b"hello"]
    finally:
        consumer.close()


def test_postgres_serves_the_registry_connection(postgres):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    hook = PostgresHook(postgres_conn_id="aptrust_registry")
    assert hook.get_first("SELECT current_database()")[0] == "aptrust_registry"


def test_smtp_sink_captures_messages_and_refuses_listed_recipients(smtp):
    (smtp.maildir / "refused_recipients").write_text("nobody@example.org\n")
    message = EmailMessage()
    message["Subject"] = "devstack check"
    message["From"] = "airflow@localhost"
    message["To"] = "ops@example.org"
    message.set_content("body text")
    with smtplib.SMTP("127.0.0.1", smtp.port) as client:
        refused = client.send_message(message, to_addrs=["ops@example.org", "nobody@example.org"])
    (smtp.maildir / "refused_recipients").unlink()
    assert list(refused) == ["nobody@example.org"]
    captured = smtp.messages()[-1]
    assert captured["subject"] == "devstack check"
    assert captured["rcpt_tos"] == ["ops@example.org"]
    assert captured["body"].strip() == "body text"


def test_a_server_can_be_stopped_and_restarted_for_fault_injection(devstack, zookeeper):
    devstack.stop(["zookeeper"])
    assert not port_is_open(zookeeper.port)
    devstack.start(["zookeeper"])
    assert port_is_open(zookeeper.port)


def test_stopping_a_stack_kills_every_process_it_started():
    from devstack.settings import REPO_ROOT

    stack = Devstack(REPO_ROOT / ".devstack" / f"stop-test-{uuid.uuid4().hex[:6]}", ports="free")
    try:
        stack.start(["sftp", "postgres", "kafka"])
        groups = [server.pid for server in stack.servers.values() if server.pid]
    finally:
        stack.stop()
        shutil.rmtree(stack.workdir, ignore_errors=True)
    for pgid in groups:
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)


def test_configured_ports_match_airflow_settings():
    ports = configured_ports()
    assert ports == {
        "sftp": 22022,
        "zookeeper": 22181,
        "moto": 25000,
        "kafka": 29092,
        "postgres": 25432,
        "smtp": 21025,
        "aspace": 28089,
    }
    assert len(set(ports.values())) == len(ports)
    # below Linux's ephemeral range (32768+), where a client socket could hold the port
    assert max(ports.values()) < 32768


def test_servers_die_with_a_killed_parent():
    """A test run killed with SIGKILL leaves no server behind (parent-death signal)."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from devstack.settings import REPO_ROOT

    workdir = REPO_ROOT / ".devstack" / f"orphan-test-{uuid.uuid4().hex[:6]}"
    script = (
        "import json, sys, time\n"
        "from devstack.stack import Devstack\n"
        f"stack = Devstack({str(workdir)!r}, ports='free')\n"
        "stack.start(['postgres', 'sftp', 'kafka'])\n"
        "print(json.dumps([s.pid for s in stack.servers.values() if s.pid]), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        groups = json.loads(parent.stdout.readline())
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 15
    alive = groups
    while alive and time.monotonic() < deadline:
        alive = [pgid for pgid in groups if _group_exists(pgid)]
        time.sleep(0.2)
    shutil.rmtree(workdir, ignore_errors=True)
    assert alive == []


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_redis_broker_serves_the_celery_client(tmp_path):
    import redis

    from devstack.debian import CELERY_BROKER, ensure_debian_packages
    from devstack.process import free_port
    from devstack.servers import RedisServer

    ensure_debian_packages(CELERY_BROKER)
    broker = RedisServer(tmp_path, free_port())
    broker.start()
    try:
        client = redis.Redis.from_url(broker.url)
        client.lpush("celery", b"task")
        assert client.rpop("celery") == b"task"
    finally:
        broker.stop()
    assert not port_is_open(broker.port)


def test_moto_outage_refuses_clients_and_keeps_its_state(moto):
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    sqs = SqsHook(aws_conn_id="aws_default", config=Config(retries={"max_attempts": 1})).get_conn()
    queue_url = sqs.create_queue(QueueName=f"q{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="kept")
    moto.disconnect()
    try:
        assert not port_is_open(moto.port)
        with pytest.raises(EndpointConnectionError):
            sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
    finally:
        moto.reconnect()
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert message["Body"] == "kept"
