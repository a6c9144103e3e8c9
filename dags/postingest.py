"""postingest: confirm preserved assets through the confirmer queues, announce, resend stuck messages.

Two DAGs over the same state table and queue configuration (Variable
``postingest_queues``): the stream applier every five minutes and the resender hourly.
Table and topic names come from Variables read when a task runs (the operators'
defaults), not from the params form.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronTriggerTimetable, Param

from include.common.eastern_time import EASTERN_TIMEZONE
from include.postingest.config import QUEUE_CONFIG_VARIABLE
from include.postingest.limits import CONCURRENCY_RANGE, DEFAULT_CONCURRENCY, DEFAULT_MAX_RECORDS, MAX_RECORDS_RANGE
from include.postingest.names import (
    CHECKPOINT_TABLE,
    CHECKPOINT_TABLE_VARIABLE,
    NOTIFICATIONS_TOPIC,
    STALE_INDEX,
    STATE_TABLE,
    STATE_TABLE_VARIABLE,
    TOPIC_VARIABLE,
)
from preservation_pipelines.common.assets import POSTINGEST_NOTIFICATIONS, POSTINGEST_STATE
from preservation_pipelines.common.notifiers.failure import TaskFailureNotifier
from preservation_pipelines.common.operators.run_summary import RunSummaryOperator
from preservation_pipelines.postingest.operators.resender import ResendStuckMessagesOperator
from preservation_pipelines.postingest.operators.state_changes import ApplyStateChangesOperator

DEFAULT_ARGS = {
    "owner": "digital-preservation",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "on_failure_callback": TaskFailureNotifier(recipients_variable="postingest_alert_to"),
}
with DAG(
    dag_id="postingest_state_change",
    schedule=CronTriggerTimetable("*/5 * * * *", timezone=EASTERN_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    default_args={**DEFAULT_ARGS, "execution_timeout": timedelta(minutes=25)},
    params={
        "max_records": Param(
            DEFAULT_MAX_RECORDS,
            type="integer",
            minimum=MAX_RECORDS_RANGE[0],
            maximum=MAX_RECORDS_RANGE[1],
            title="Records per run",
            description="Stop after this many stream records",
        ),
        "concurrency": Param(
            DEFAULT_CONCURRENCY,
            type="integer",
            minimum=CONCURRENCY_RANGE[0],
            maximum=CONCURRENCY_RANGE[1],
            title="Assets applied at once",
            description="Threads applying the records of different assets together (each asset's in stream order)",
        ),
    },
    tags=["postingest", "dynamodb", "sqs", "kafka", "preservation"],
    doc_md=f"""
### postingest_state_change
Reads the DynamoDB stream of the state table (Variable `{STATE_TABLE_VARIABLE}`, default
`{STATE_TABLE}`) from its checkpoint
and applies each record: a new asset is sent to the order-1 confirmer queue and
announced as ingested; a confirmer's `result_<alias>` appearing moves the asset to the
next queue (sending it that result as payload) and announces the finished step; the
last queue's result deletes the item and announces `ingest.complete`.

**Runs** every 5 minutes (one run at a time) until caught up or `max_records`, applying
up to `concurrency` assets at once (each asset's records in stream order), the confirmer
messages batched per queue and the items read in batches.
**Touches** `aws_default` (state table and stream, checkpoint table of Variable
`{CHECKPOINT_TABLE_VARIABLE}` (default `{CHECKPOINT_TABLE}`), created if missing; the confirmer
SQS queues of Variable `{QUEUE_CONFIG_VARIABLE}`) and `kafka_producer` (topic of Variable
`{TOPIC_VARIABLE}`, default `{NOTIFICATIONS_TOPIC}`, keyed by assetId). The names are read
when the task runs; an unset Variable means the default.

**Guarantees**: the checkpoint (an item per shard in the checkpoint table) advances only
over records whose effects are all done and whose notifications were delivered; a replayed record is
recognised from the item's current state, so no asset is advanced or sent twice, and
its notification is re-published with the same `messageId`. A record that cannot be
decided or encoded (MODIFY without an image, `input` not JSON, an attribute of the
wrong DynamoDB type, a message or item over what SQS, Kafka or DynamoDB accept) is
parked in the checkpoint table before any of its effects, the checkpoint moves past
it, and the `report` task fails listing assetId, sequence number and reason; the
records behind it are applied. Only infrastructure errors fail the task for a retry.

**Recovery**: clear or retry freely: the run resumes from the checkpoint. A bad queue
config, a name Variable holding an invalid name, a bad param or a missing table fail at
once (no retries) naming the problem and the value; fix them and clear. For a parked
record: fix the item, then delete its `parked#...` row (or re-trigger the step by
rewriting the result attribute). Backfill is meaningless (the stream is the input):
trigger a run instead.
""",
) as postingest_state_change:
    apply_records = ApplyStateChangesOperator(
        task_id="apply_stream_records",
        max_records="{{ params.max_records }}",
        concurrency="{{ params.concurrency }}",
        inlets=[POSTINGEST_STATE],
        outlets=[POSTINGEST_STATE, POSTINGEST_NOTIFICATIONS],
    )
    apply_records >> RunSummaryOperator(task_id="report", steps="apply_stream_records", problems=("parked",))


with DAG(
    dag_id="postingest_resender",
    schedule=CronTriggerTimetable("17 * * * *", timezone=EASTERN_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=55),
    default_args={**DEFAULT_ARGS, "execution_timeout": timedelta(minutes=45)},
    tags=["postingest", "dynamodb", "sqs", "preservation"],
    doc_md=f"""
### postingest_resender
Hourly, for each confirmer queue of Variable `{QUEUE_CONFIG_VARIABLE}`: the cutoff is now minus
the queue's `MessageRetentionPeriod` (two weeks if unreadable); items of the state table
(Variable `{STATE_TABLE_VARIABLE}`, default `{STATE_TABLE}`) waiting on that queue with `lastQueued` before the cutoff (a Query on GSI
`{STALE_INDEX}`, never a Scan) get their message again (input for the first queue,
the previous queue's result after it), in batches of ten, and `lastQueued` is set to now.

**Touches** `aws_default`: the state table (read via the GSI, conditional updates of
`lastQueued`) and the confirmer queues. Returns counts per queue.

**Guarantees**: each item is claimed with a write conditional on the `lastQueued` read,
so two overlapping runs never both send it; a failed send puts `lastQueued` back and
the task fails after the pass, so the retry sends exactly those. Items whose message
cannot be built (e.g. `input` not JSON or not a string) or would be too large for the
queue or the item are skipped, listed, and fail the `report` task; the rest are sent.

**Recovery**: clear or retry freely; a rerun finds only what is still stale. A bad queue
config, an invalid table name in the Variable or a missing table fails at once (no retries). The time
is the wall clock, not the logical date, so backfills add nothing: trigger a run.
""",
) as postingest_resender:
    ResendStuckMessagesOperator(task_id="resend_stuck_messages", inlets=[POSTINGEST_STATE]) >> RunSummaryOperator(
        task_id="report", steps="resend_stuck_messages", problems=("unsendable",)
    )
