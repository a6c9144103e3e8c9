"""The base of the postingest operators: their hooks and the queue configuration, from one place.

Shaped like the amazon provider's ``AwsBaseOperator``: connection ids are arguments and
each hook is a cached property. The hook modules import boto3 and confluent-kafka, which
parsing the DAG folder must not pay for (``bench/dagbag_parse``): they are imported when a
hook is first used, and a connection id left at ``None`` means that hook's own
``default_conn_name``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Variable
from airflow.sdk.exceptions import AirflowFailException

from include.common.variables import variable_or_default
from include.postingest.config import QUEUE_CONFIG_VARIABLE, QueueConfig, QueueConfigError, parse_queue_config
from include.postingest.limits import InvalidParameterError
from include.postingest.names import (
    STATE_TABLE,
    STATE_TABLE_VARIABLE,
    TABLE_NAME_PATTERN,
    checked_name,
)

if TYPE_CHECKING:
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook
    from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
    from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook


def load_queue_config(variable_name: str) -> QueueConfig:
    """The validated queue configuration from an Airflow Variable; a bad one fails without retries."""
    try:
        text = Variable.get(variable_name)
    except Exception as error:  # noqa: BLE001 - the Task SDK raises several kinds for a missing key
        raise AirflowFailException(
            f"Variable {variable_name!r} (the postingest queue config) is not set: {error}"
        ) from error
    try:
        return parse_queue_config(text)
    except QueueConfigError as error:
        raise AirflowFailException(f"Variable {variable_name!r}: {error}") from None


@contextmanager
def refused_at_once() -> Iterator[None]:
    """Bad input (params, settings, a missing table) fails the task at once, without retries, naming the problem."""
    try:
        yield
    except (InvalidParameterError, QueueConfigError) as error:
        raise AirflowFailException(str(error)) from None


class PostingestBaseOperator(BaseOperator):
    """An operator on the state table (``table_name``) and the queues of Variable ``queue_config_variable``.

    ``table_name`` defaults to the template of Variable ``postingest_state_table`` (the
    default name while it is unset), rendered when the task runs.

    :param aws_conn_id: the AWS connection of the state table and the confirmer queues
        (default: the hooks' ``default_conn_name``).
    :param kafka_conn_id: the Kafka connection the notifications are produced on
        (default: ``KafkaTopicProducerHook.default_conn_name``).
    """

    template_fields: Sequence[str] = ("table_name", "queue_config_variable")

    def __init__(
        self,
        *,
        table_name: str = variable_or_default(STATE_TABLE_VARIABLE, STATE_TABLE),
        queue_config_variable: str = QUEUE_CONFIG_VARIABLE,
        aws_conn_id: str | None = None,
        kafka_conn_id: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.table_name = table_name
        self.queue_config_variable = queue_config_variable
        self.aws_conn_id = aws_conn_id
        self.kafka_conn_id = kafka_conn_id

    def queue_config(self) -> QueueConfig:
        """The validated queue configuration; the parameters checked first (both fail at once when bad)."""
        with refused_at_once():
            checked_name(self.table_name, TABLE_NAME_PATTERN, f"Variable {STATE_TABLE_VARIABLE}")
        return load_queue_config(self.queue_config_variable)

    @property
    def _state_table_parameters(self) -> dict[str, Any]:
        """The state hook's arguments besides the connection; an operator that needs more adds to them."""
        return {"table_name": self.table_name}

    @cached_property
    def state_table(self) -> PostingestStateHook:
        from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook

        return PostingestStateHook(
            aws_conn_id=self.aws_conn_id or PostingestStateHook.default_conn_name, **self._state_table_parameters
        )

    @cached_property
    def confirmer_queues(self) -> ConfirmerQueueHook:
        from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook

        return ConfirmerQueueHook(aws_conn_id=self.aws_conn_id or ConfirmerQueueHook.default_conn_name)

    @cached_property
    def notification_producer(self) -> KafkaTopicProducerHook:
        from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook

        return KafkaTopicProducerHook(self.kafka_conn_id or KafkaTopicProducerHook.default_conn_name)
