"""The postingest operators get their hooks from the base operator: connections, caching, parse cost."""

from __future__ import annotations

import os
import subprocess
import sys

from devstack.settings import PLUGINS_FOLDER, REPO_ROOT
from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook
from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook
from preservation_pipelines.postingest.operators.resender import ResendStuckMessagesOperator
from preservation_pipelines.postingest.operators.state_changes import ApplyStateChangesOperator


def apply_operator(**kwargs) -> ApplyStateChangesOperator:
    return ApplyStateChangesOperator(
        task_id="apply", table_name="state", checkpoint_table="checkpoints", topic="notifications", **kwargs
    )


def test_hooks_default_to_their_own_connections_and_are_built_once():
    operator = apply_operator()

    assert operator.state_table is operator.state_table
    assert operator.state_table.aws_conn_id == PostingestStateHook.default_conn_name
    assert (operator.state_table.table_name, operator.state_table.checkpoint_table) == ("state", "checkpoints")
    assert operator.confirmer_queues.aws_conn_id == ConfirmerQueueHook.default_conn_name
    assert operator.notification_producer.kafka_config_id == KafkaTopicProducerHook.default_conn_name


def test_connection_ids_given_reach_the_hooks():
    operator = apply_operator(aws_conn_id="aws_elsewhere", kafka_conn_id="kafka_elsewhere")
    resender = ResendStuckMessagesOperator(task_id="resend", table_name="state", aws_conn_id="aws_elsewhere")

    assert operator.state_table.aws_conn_id == operator.confirmer_queues.aws_conn_id == "aws_elsewhere"
    assert operator.notification_producer.kafka_config_id == "kafka_elsewhere"
    assert resender.state_table.checkpoint_table is None
    assert resender.state_table.aws_conn_id == "aws_elsewhere"


def test_importing_the_operators_loads_no_aws_or_kafka_client_library():
    code = (
        "import sys\n"
        "import preservation_pipelines.postingest.operators.resender\n"
        "import preservation_pipelines.postingest.operators.state_changes\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'confluent_kafka') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(PLUGINS_FOLDER)])}

    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    assert done.stdout.strip().splitlines()[-1] == "[]"
