"""Operators of the postingest DAGs: apply the state table's stream, resend stuck messages, report.

Hooks and the provider modules behind them are imported inside ``execute()`` so
that parsing the DAG file stays cheap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import BaseOperator


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_queue_config(variable_name: str):
    """The validated queue configuration from an Airflow Variable; a bad one fails without retries."""
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowFailException

    from include.postingest.config import QueueConfigError, parse_queue_config

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


class _PostingestOperator(BaseOperator):
    template_fields = ("table_name", "queue_config_variable")

    def __init__(
        self,
        *,
        table_name: str,
        queue_config_variable: str = "postingest_queues",
        aws_conn_id: str = "aws_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.table_name = table_name
        self.queue_config_variable = queue_config_variable
        self.aws_conn_id = aws_conn_id


class ApplyStateChangesOperator(_PostingestOperator):
    """Read the state table's stream from its checkpoint and apply every record once in effect.

    Sends to confirmer queues (SQS), moves or deletes items (DynamoDB) and announces
    on the notifications topic (Kafka). Records that can never be applied are parked
    in ``checkpoint_table`` and listed in the returned summary under ``parked``.
    """

    template_fields = (*_PostingestOperator.template_fields, "checkpoint_table", "topic", "max_records")

    def __init__(
        self,
        *,
        checkpoint_table: str,
        topic: str,
        kafka_config_id: str = "kafka_default",
        page_size: int = 100,
        max_records: int | str = 50_000,
        delivery_timeout: float = 30.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.checkpoint_table = checkpoint_table
        self.topic = topic
        self.kafka_config_id = kafka_config_id
        self.page_size = page_size
        self.max_records = max_records
        self.delivery_timeout = delivery_timeout

    def execute(self, context) -> dict[str, Any]:
        from preservation_pipelines.postingest.hooks.state import (
            ConfirmerQueueHook,
            NotificationPublisherHook,
            PostingestStateHook,
        )
        from preservation_pipelines.postingest.processing import StateChangeApplier

        config = load_queue_config(self.queue_config_variable)
        state = PostingestStateHook(
            table_name=self.table_name, checkpoint_table=self.checkpoint_table, aws_conn_id=self.aws_conn_id
        )
        state.ensure_checkpoint_table()
        applier = StateChangeApplier(
            state=state,
            queues=ConfirmerQueueHook(aws_conn_id=self.aws_conn_id),
            publisher=NotificationPublisherHook(self.kafka_config_id, delivery_timeout=self.delivery_timeout),
            config=config,
            topic=self.topic,
            clock=utc_now,
        )
        return applier.run(page_size=self.page_size, max_records=int(self.max_records))


class ResendStuckMessagesOperator(_PostingestOperator):
    """Re-send the message of every item waiting on a queue for longer than the queue's retention.

    Returns counts per queue. Items whose send failed are put back as they were and
    the task fails after the whole pass, so a retry sends exactly those.
    """

    def execute(self, context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowException

        from preservation_pipelines.postingest.hooks.state import ConfirmerQueueHook, PostingestStateHook
        from preservation_pipelines.postingest.processing import StuckMessageResender

        config = load_queue_config(self.queue_config_variable)
        queues = ConfirmerQueueHook(aws_conn_id=self.aws_conn_id)
        state = PostingestStateHook(table_name=self.table_name, aws_conn_id=self.aws_conn_id)
        summary = StuckMessageResender(state=state, queues=queues, config=config, clock=utc_now).run()
        summary["items_read"] = state.items_read
        summary["sqs_calls"] = queues.calls
        if summary["send_failures"]:
            failed = ", ".join(f"{f['assetId']} ({f['queue']}: {f['error']})" for f in summary["send_failures"][:10])
            raise AirflowException(
                f"{len(summary['send_failures'])} resend(s) failed and were put back for the retry: {failed}"
            )
        return summary


class PostingestRunReportOperator(BaseOperator):
    """Log the upstream task's run summary, return it, and fail (no retries) if it lists problems.

    ``problems`` names the summary keys holding lists that need an operator (parked
    stream records, items whose message cannot be built).
    """

    def __init__(self, *, summary_task_id: str, problems: tuple[str, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.summary_task_id = summary_task_id
        self.problems = problems

    def execute(self, context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        summary = context["ti"].xcom_pull(task_ids=self.summary_task_id)
        self.log.info("run summary: %s", summary)
        found = {key: summary[key] for key in self.problems if summary.get(key)}
        if found:
            lines = [f"{key}: {entry}" for key, entries in found.items() for entry in entries]
            raise AirflowFailException(
                f"{len(lines)} record(s) need an operator (the run went on past them):\n" + "\n".join(lines)
            )
        return summary
