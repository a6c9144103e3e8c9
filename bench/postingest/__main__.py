"""postingest: the resender's GSI Query against a Scan-based resend, and the stream applier's rate.

One run on moto (server mode: it serves DynamoDB Streams) and tansu, started here:

1. A state table of 100,000 items, 5,000 of them stale (half on CC, half on TC).
   The resender runs twice over the same 5,000 stale rows: once as shipped (Query
   on ``QueueLastQueuedIdx``) and once with the item source swapped for a table Scan
   with the same filter; the stale rows are reset between the two. Printed side by
   side: wall time, items read (DynamoDB's ScannedCount: moto reports no capacity
   units), SQS calls per resent message.
2. A fresh table with 1,000 inserted assets: the stream applier's records per second
   (each INSERT sends, updates and announces; our own updates come back as MODIFYs
   and are read and ignored).

Targets: >= 15x fewer items read than the Scan; <= 0.15 SQS calls per resent message.
Runtime is dominated by moto serving one conditional UpdateItem per resent item
(10,000 in all): roughly 10-25 minutes on the 2-core machine, depending on its load.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime

from devstack.settings import REPO_ROOT, use_plugins_folder
from devstack.stack import Devstack

TABLE_ITEMS = 100_000
STALE_ITEMS = 5_000
STREAM_ASSETS = 1_000
TARGET_READ_RATIO = 15.0
TARGET_SQS_CALLS_PER_MESSAGE = 0.15
NOW = datetime(2025, 6, 19, 16, 24, tzinfo=UTC)
STALE_AT = "2025-06-01T10:00:00.000Z"
FRESH_AT = "2025-06-18T10:00:00.000Z"


def configure_airflow(stack: Devstack, home: str) -> None:
    os.environ.update(
        {"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", **stack.airflow_connections_env()}
    )
    use_plugins_folder()


def stale_row(n: int) -> dict[str, str]:
    queue = "CC" if n % 2 == 0 else "TC"
    row = {
        "assetId": f"stale-{n:06d}",
        "batchId": "bench",
        "input": json.dumps({"n": n}),
        "queue": queue,
        "lastQueued": STALE_AT,
    }
    if queue == "TC":
        row["result_CC"] = json.dumps({"cc": n})
    return row


def load_table(table) -> float:
    began = time.monotonic()
    with table.batch_writer() as writer:
        for n in range(TABLE_ITEMS - STALE_ITEMS):
            writer.put_item(
                Item={
                    "assetId": f"fresh-{n:06d}",
                    "batchId": "bench",
                    "queue": "CC" if n % 2 == 0 else "TC",
                    "lastQueued": FRESH_AT,
                }
            )
        for n in range(STALE_ITEMS):
            writer.put_item(Item=stale_row(n))
    return time.monotonic() - began


def reset_stale_rows(table) -> None:
    with table.batch_writer() as writer:
        for n in range(STALE_ITEMS):
            writer.put_item(Item=stale_row(n))


def scan_source(state):
    """The same selection as the GSI Query, done the way the spec calls a defect: a table Scan.

    One Scan serves every queue (the cheapest a Scan-based resender can do): it reads
    the whole table once and hands each queue its stale items.
    """
    stale_by_queue: dict[str, list[dict]] | None = None

    def stale_items(alias: str, cutoff: str):
        nonlocal stale_by_queue
        if stale_by_queue is None:
            stale_by_queue = {}
            params = {"FilterExpression": "lastQueued < :cutoff", "ExpressionAttributeValues": {":cutoff": cutoff}}
            while True:
                page = state.table.scan(**params)
                state.items_read += page.get("ScannedCount", 0)
                for item in page.get("Items", []):
                    stale_by_queue.setdefault(item.get("queue"), []).append(item)
                if "LastEvaluatedKey" not in page:
                    break
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return iter(stale_by_queue.get(alias, []))

    return stale_items


def run_resender(table_name: str, config, use_scan: bool) -> dict[str, float]:
    from include.postingest.resender import StuckMessageResender
    from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
    from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook

    state = PostingestStateHook(table_name=table_name)
    queues = ConfirmerQueueHook()
    resender = StuckMessageResender(
        state=state,
        queues=queues,
        config=config,
        clock=lambda: NOW,
        stale_items=scan_source(state) if use_scan else None,
    )
    began = time.monotonic()
    summary = resender.run()
    seconds = time.monotonic() - began
    resent = sum(counts["resent"] for counts in summary["queues"].values())
    if resent != STALE_ITEMS or summary["send_failures"]:
        raise SystemExit(f"{'scan' if use_scan else 'query'} resender resent {resent} of {STALE_ITEMS}: {summary}")
    return {"seconds": seconds, "items_read": state.items_read, "sqs_calls": queues.calls, "resent": resent}


def measure_stream_rate(clients, bootstrap: str, config_text: str) -> dict[str, float]:
    from confluent_kafka.admin import AdminClient

    from devstack import postingest_provisioning as provisioning
    from include.postingest.applier import StateChangeApplier
    from include.postingest.config import parse_queue_config
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook
    from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
    from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook

    table = provisioning.create_state_table(clients["dynamodb"].meta.client, "bench-stream-state")
    state = PostingestStateHook(table_name=table, checkpoint_table="bench-stream-checkpoints")
    state.ensure_checkpoint_table()
    topic = provisioning.create_topic(AdminClient({"bootstrap.servers": bootstrap}), "bench-notifications")
    with clients["dynamodb"].Table(table).batch_writer() as writer:
        for n in range(STREAM_ASSETS):
            writer.put_item(Item={"assetId": f"asset-{n:06d}", "batchId": "bench", "input": json.dumps({"n": n})})
    applier = StateChangeApplier(
        state=state,
        queues=ConfirmerQueueHook(),
        publisher=KafkaTopicProducerHook(),
        config=parse_queue_config(config_text),
        topic=topic,
    )
    summary = applier.run(page_size=100)
    if summary["queued_first"] != STREAM_ASSETS:
        raise SystemExit(f"stream applier queued {summary['queued_first']} of {STREAM_ASSETS}: {summary}")
    return summary


def main() -> int:
    stack = Devstack(REPO_ROOT / ".devstack" / "bench-postingest", ports="free")
    try:
        stack.start(["moto", "kafka"])
        with tempfile.TemporaryDirectory() as home:
            configure_airflow(stack, home)
            return benchmark(stack)
    finally:
        stack.stop()


def benchmark(stack: Devstack) -> int:
    from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
    from airflow.providers.amazon.aws.hooks.sqs import SqsHook

    from devstack import postingest_provisioning as provisioning
    from include.postingest.config import parse_queue_config

    clients = {"dynamodb": DynamoDBHook().get_conn(), "sqs": SqsHook().get_conn()}
    table_name = provisioning.create_state_table(clients["dynamodb"].meta.client, "bench-resend-state")
    config_text = provisioning.create_confirmer_queues(clients["sqs"], {"CC": "bench-cc", "TC": "bench-tc"})
    config = parse_queue_config(config_text)
    print(f"loading {TABLE_ITEMS:,} items ({STALE_ITEMS:,} stale) into moto ...", flush=True)
    print(f"  loaded in {load_table(clients['dynamodb'].Table(table_name)):.1f} s", flush=True)

    query = run_resender(table_name, config, use_scan=False)
    reset_stale_rows(clients["dynamodb"].Table(table_name))
    scan = run_resender(table_name, config, use_scan=True)

    per_message = query["sqs_calls"] / query["resent"]
    rows = [
        ("wall time (s)", f"{query['seconds']:12.1f}", f"{scan['seconds']:12.1f}", scan["seconds"] / query["seconds"]),
        (
            "items read (ScannedCount)",
            f"{query['items_read']:12,}",
            f"{scan['items_read']:12,}",
            scan["items_read"] / query["items_read"],
        ),
        ("SQS calls per resent message", f"{per_message:12.3f}", f"{scan['sqs_calls'] / scan['resent']:12.3f}", None),
    ]
    title = f"resender over {TABLE_ITEMS:,} items, {STALE_ITEMS:,} stale"
    print(f"\n{title:44} {'GSI Query':>12} {'table Scan':>12} {'ratio':>8}")
    for name, by_query, by_scan, ratio in rows:
        print(f"  {name:42} {by_query} {by_scan} {f'{ratio:7.1f}x' if ratio else ''}")

    stream = measure_stream_rate(clients, stack["kafka"].bootstrap_servers, config_text)
    print(
        f"\nstream applier: {stream['records']:,} records ({stream['queued_first']:,} INSERTs applied, "
        f"{stream['ignored']:,} own MODIFYs ignored) in {stream['seconds']:.1f} s "
        f"= {stream['records_per_second']:.0f} records/s"
    )

    read_ratio = scan["items_read"] / query["items_read"]
    verdicts = [
        (f"items read: Scan/Query >= {TARGET_READ_RATIO:.0f}x", read_ratio >= TARGET_READ_RATIO, f"{read_ratio:.1f}x"),
        (
            f"SQS calls per resent message <= {TARGET_SQS_CALLS_PER_MESSAGE}",
            per_message <= TARGET_SQS_CALLS_PER_MESSAGE,
            f"{per_message:.3f}",
        ),
    ]
    print()
    for name, ok, value in verdicts:
        print(f"target {name}: {value} {'OK' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
