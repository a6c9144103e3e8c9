"""postingest's stream applier as shipped against the same code forced to one record at a time.

One run on moto (server mode: it serves DynamoDB Streams) and tansu, started here. Each
asset goes INSERT -> CC queue -> TC queue -> complete: the benchmark inserts the items,
runs the applier, plays both confirmers (writes ``result_<alias>`` on every item, as
they do) and runs the applier after each, so the stream holds six records per asset
(INSERT, our update, CC's result, our update, TC's result, our delete), three of them
with effects. Only the applier's runs are timed.

- shipped: ``StateChangeApplier`` with its default pool, the hooks' batch sizes
  (SendMessageBatch of 10, BatchGetItem of 100), over ``ASSETS`` assets;
- sequential: the same classes with a pool of one thread and batches of one (each
  record read, sent and written on its own, as the applier did before), over
  ``SEQUENTIAL_ASSETS`` assets (all 2,000 would take about ten minutes here).

The two sides run phase by phase in turn (shipped, sequential, shipped, ...), so a
machine shared with other work loads both alike.

API calls are counted with botocore's ``before-call`` event on the applier's own clients
(DynamoDB with the checkpoint table, DynamoDB Streams, SQS), retries inside a call not
counted again; per stream record read. ``--curve`` measures records/s per pool size
instead (how the default was chosen), each size on a fresh moto. ``--latency MS`` adds
MS milliseconds before every AWS request the applier sends, a model of AWS's network
round trip (moto on loopback answers in its own CPU time), to see the design where round
trips cost what they cost in AWS; `make bench` runs without it. Targets: >= 5x the
sequential rate, <= 0.15 SQS and <= 1.5 DynamoDB calls per record.

moto answers each call in its own CPU time, on the same two cores, so it also prints the
CPU moto (and the devstack's TCP gate in front of it) spent per record on each side, and
the ceiling that puts on the speed-up: the sequential side's wall time per record over the
shipped side's server CPU per record, what the shipped side would reach if nothing but
moto's work on its calls counted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Any

import psutil

from bench.postingest.__main__ import configure_airflow
from devstack.settings import REPO_ROOT
from devstack.stack import Devstack

ASSETS = 2_000
SEQUENTIAL_ASSETS = 300
CURVE_ASSETS = 300
CURVE_POOLS = (1, 2, 4, 8, 16, 32)
TARGET_SPEEDUP = 5.0
TARGET_SQS_CALLS = 0.15
TARGET_DYNAMODB_CALLS = 1.5
SERVICES = {"dynamodb": "dynamodb", "dynamodbstreams": "dynamodb", "sqs": "sqs"}


class CallCounter:
    """API calls made through the clients it is attached to, by service (DynamoDB Streams counts as DynamoDB);
    with ``latency`` seconds of modelled round trip before each request sent."""

    def __init__(self, latency: float = 0.0) -> None:
        self.calls: Counter[str] = Counter()
        self.latency = latency
        self._lock = threading.Lock()

    def attach(self, client) -> None:
        client.meta.events.register("before-call", self._count)
        if self.latency:
            client.meta.events.register("before-send", self._wait)

    def _wait(self, **_) -> None:
        time.sleep(self.latency)

    def _count(self, model, **_) -> None:
        with self._lock:
            self.calls[SERVICES[model.service_model.service_name]] += 1


class World:
    """One state table, two confirmer queues and a topic, named after ``name``; the confirmers' side."""

    def __init__(self, stack: Devstack, name: str) -> None:
        from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
        from airflow.providers.amazon.aws.hooks.sqs import SqsHook
        from confluent_kafka.admin import AdminClient

        from devstack import postingest_provisioning as provisioning
        from include.postingest.config import parse_queue_config

        self.dynamodb = DynamoDBHook().get_conn()
        self.sqs = SqsHook().get_conn()
        self.bootstrap = stack["kafka"].bootstrap_servers
        self.table = provisioning.create_state_table(self.dynamodb.meta.client, f"{name}-state")
        self.checkpoint_table = f"{name}-checkpoints"
        self.config = parse_queue_config(
            provisioning.create_confirmer_queues(self.sqs, {"CC": f"{name}-cc", "TC": f"{name}-tc"})
        )
        self.topic = provisioning.create_topic(AdminClient({"bootstrap.servers": self.bootstrap}), f"{name}-topic")

    def insert(self, count: int) -> None:
        with self.dynamodb.Table(self.table).batch_writer() as writer:
            for n in range(count):
                writer.put_item(Item={"assetId": f"asset-{n:06d}", "batchId": "bench", "input": f'{{"n": {n}}}'})

    def confirm(self, alias: str) -> None:
        """Write ``result_<alias>`` on every item, as the confirmer does (its messages are left on the queue)."""
        table = self.dynamodb.Table(self.table)
        items = []
        params: dict[str, Any] = {"ConsistentRead": True}
        while True:
            page = table.scan(**params)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        with table.batch_writer() as writer:
            for item in items:
                writer.put_item(Item={**item, f"result_{alias}": f'{{"{alias}": "{item["assetId"]}"}}'})

    def waiting(self, alias: str) -> int:
        url = next(queue.url for queue in self.config if queue.alias == alias)
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def published(self) -> int:
        """Notifications on the topic, read back to its end."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": f"bench-{self.topic}", "enable.partition.eof": True}
        )
        consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
        count = 0
        try:
            while True:
                messages = consumer.consume(1000, timeout=10)
                if not messages:
                    return count
                for message in messages:
                    if message.error() is None:
                        count += 1
                    elif message.error().code() == KafkaError._PARTITION_EOF:
                        return count
        finally:
            consumer.close()

    def items_left(self) -> int:
        return self.dynamodb.meta.client.scan(TableName=self.table, Select="COUNT")["Count"]


PHASES = (None, "CC", "TC")  # the applier runs after the insert and after each confirmer


class Driven:
    """A world's assets driven through the phases with one applier configuration, its runs timed and counted."""

    def __init__(
        self, stack: Devstack, name: str, assets: int, concurrency: int, batched: bool, latency: float = 0.0
    ) -> None:
        from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook
        from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
        from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook

        self.name, self.assets, self.concurrency = name, assets, concurrency
        self.world = World(stack, name)
        self.world.insert(assets)
        batches = {} if batched else {"batch_read_limit": 1}
        self.state = PostingestStateHook(
            table_name=self.world.table, checkpoint_table=self.world.checkpoint_table, **batches
        )
        self.state.ensure_checkpoint_table()
        self.queues = ConfirmerQueueHook(**({} if batched else {"batch_limit": 1}))
        self.publisher = KafkaTopicProducerHook()
        self.counter = CallCounter(latency)
        for client in (self.state.get_conn().meta.client, self.state.streams, self.queues.get_conn()):
            self.counter.attach(client)
        self.server = psutil.Process(stack["moto"].pid)
        self.totals: Counter[str] = Counter()
        self.seconds = 0.0
        self.server_seconds = 0.0

    def step(self, confirmer: str | None) -> None:
        """Play ``confirmer`` (if any), then one applier run, timed."""
        from include.postingest.applier import StateChangeApplier

        if confirmer:
            self.world.confirm(confirmer)
        applier = StateChangeApplier(
            state=self.state,
            queues=self.queues,
            publisher=self.publisher,
            config=self.world.config,
            topic=self.world.topic,
            concurrency=self.concurrency,
        )
        began, server_began = time.monotonic(), self._server_cpu()
        summary = applier.run(page_size=100)
        self.seconds += time.monotonic() - began
        self.server_seconds += self._server_cpu() - server_began
        self.totals.update({key: value for key, value in summary.items() if isinstance(value, int)})
        if summary["parked"]:
            raise SystemExit(f"{self.name}: records parked: {summary['parked'][:3]}")

    def _server_cpu(self) -> float:
        """CPU seconds moto and the TCP gate in front of it have used so far."""
        processes = [self.server, *self.server.children(recursive=True)]
        return sum(sum(process.cpu_times()[:2]) for process in processes)

    def figures(self) -> dict[str, Any]:
        """The figures, once what the applier reported is checked against the servers."""
        assets, totals = self.assets, self.totals
        moved = (totals["queued_first"], totals["advanced"], totals["completed"], totals["notifications"])
        if moved != (assets, assets, assets, 3 * assets):
            raise SystemExit(f"{self.name}: queued/advanced/completed/announced {moved}, expected {assets}: {totals}")
        world = self.world
        seen = (world.waiting("CC"), world.waiting("TC"), world.published(), world.items_left())
        if seen != (assets, assets, 3 * assets, 0):
            raise SystemExit(f"{self.name}: CC/TC messages, notifications, items left {seen}: not what was reported")
        records = totals["records"]
        return {
            "assets": assets,
            "records": records,
            "seconds": self.seconds,
            "rate": records / self.seconds,
            "ms_per_record": 1000 * self.seconds / records,
            "server_ms_per_record": 1000 * self.server_seconds / records,
            "sqs": self.counter.calls["sqs"] / records,
            "dynamodb": self.counter.calls["dynamodb"] / records,
        }


def benchmark(stack: Devstack, latency: float) -> int:
    from include.postingest.limits import DEFAULT_CONCURRENCY

    modelled = f", {latency * 1000:.0f} ms modelled round trip per AWS request" if latency else ""
    print(f"shipped: {ASSETS:,} assets, pool {DEFAULT_CONCURRENCY}, batched{modelled}", flush=True)
    print(f"sequential: {SEQUENTIAL_ASSETS:,} assets, pool 1, one record at a time{modelled}", flush=True)
    sides = (
        Driven(stack, "bench-shipped", ASSETS, DEFAULT_CONCURRENCY, True, latency),
        Driven(stack, "bench-sequential", SEQUENTIAL_ASSETS, 1, False, latency),
    )
    for confirmer in PHASES:  # both sides phase by phase, so the machine's load falls on both alike
        for side in sides:
            side.step(confirmer)
    shipped, sequential = (side.figures() for side in sides)

    rows = [
        ("assets", "{:,}", "assets"),
        ("stream records", "{:,}", "records"),
        ("applier wall time (s)", "{:.1f}", "seconds"),
        ("records/s", "{:.1f}", "rate"),
        ("wall ms per record", "{:.2f}", "ms_per_record"),
        ("moto + gate CPU ms per record", "{:.2f}", "server_ms_per_record"),
        ("SQS calls per record", "{:.3f}", "sqs"),
        ("DynamoDB calls per record", "{:.3f}", "dynamodb"),
    ]
    print(f"\n{'':32} {f'shipped (pool {DEFAULT_CONCURRENCY})':>20} {'sequential':>14}")
    for label, form, key in rows:
        print(f"  {label:30} {form.format(shipped[key]):>20} {form.format(sequential[key]):>14}")

    speedup = shipped["rate"] / sequential["rate"]
    ceiling = sequential["ms_per_record"] / shipped["server_ms_per_record"]
    print(
        f"\nmoto-bound ceiling: sequential {sequential['ms_per_record']:.2f} ms per record / shipped's moto CPU "
        f"{shipped['server_ms_per_record']:.2f} ms per record = {ceiling:.1f}x (measured {speedup:.1f}x)"
    )
    verdicts = [
        (f"speed-up >= {TARGET_SPEEDUP:.0f}x", speedup >= TARGET_SPEEDUP, f"{speedup:.1f}x"),
        (f"SQS calls/record <= {TARGET_SQS_CALLS}", shipped["sqs"] <= TARGET_SQS_CALLS, f"{shipped['sqs']:.3f}"),
        (
            f"DynamoDB calls/record <= {TARGET_DYNAMODB_CALLS}",
            shipped["dynamodb"] <= TARGET_DYNAMODB_CALLS,
            f"{shipped['dynamodb']:.3f}",
        ),
    ]
    print()
    for label, ok, value in verdicts:
        print(f"target {label}: {value} {'OK' if ok else 'MISSED'}")
    print(
        f"applier: {shipped['rate']:.0f} records/s vs {sequential['rate']:.0f} sequential = {speedup:.1f}x; "
        f"{shipped['sqs']:.3f} SQS calls/record; {shipped['dynamodb']:.3f} DynamoDB calls/record"
    )
    return 0 if all(ok for _, ok, _ in verdicts) else 1


def curve(stack: Devstack, latency: float) -> int:
    print(f"records/s per pool size, {CURVE_ASSETS} assets each, batched, {latency * 1000:.0f} ms added per request:")
    for pool in CURVE_POOLS:
        stack.restart("moto")  # each pool size on a fresh moto: its cost per call grows with what it holds
        side = Driven(stack, f"bench-curve-{pool}", CURVE_ASSETS, pool, True, latency)
        for confirmer in PHASES:
            side.step(confirmer)
        figures = side.figures()
        print(f"  pool {pool:2}: {figures['rate']:6.1f} records/s ({figures['seconds']:.1f} s)", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curve", action="store_true", help="records/s per pool size instead")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS", help="modelled round trip per request")
    args = parser.parse_args()
    latency = args.latency / 1000
    stack = Devstack(REPO_ROOT / ".devstack" / "bench-postingest-applier", ports="free")
    try:
        stack.start(["moto", "kafka"])
        with tempfile.TemporaryDirectory() as home:
            configure_airflow(stack, home)
            return curve(stack, latency) if args.curve else benchmark(stack, latency)
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
