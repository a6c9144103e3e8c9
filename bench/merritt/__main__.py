"""Merritt queue: staging a 10,000-job batch with transactions vs one create per node; reporting 1,000 batches.

Both stagings write the same nodes into the same ZooKeeper 3.8 (each under its own
chroot), in one run. "One create per node" is how Merritt's running system stages: a
synchronous create for every node, sequential ids included, one round trip each.
Targets: transactional staging >= 5x faster, and a 10,000-job batch in under 15 s.
Reporting: 1,000 finished one-job batches found and reported (lock, Reporting,
Completed) by the reporting operator.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

from devstack.settings import REPO_ROOT, use_plugins_folder
from devstack.stack import Devstack

JOBS = 10_000
BATCHES = 1_000
SPEEDUP_TARGET = 5.0
STAGING_SECONDS_TARGET = 15.0
PROFILE = "bench_profile"


def plan(rows: int, uuid: str):
    from include.merritt.submission import validate_submission

    lines = [
        "#%checkm_0.7",
        "#%fields | nfo:fileUrl | nfo:hashAlgorithm | nfo:hashValue | nfo:fileName | mrt:localIdentifier",
    ]
    lines += [
        f"https://example.org/o/{n:06d}.checkm | md5 | {n:032x} | {n:06d}.checkm | loc{n:06d}" for n in range(rows)
    ]
    conf = {
        "submission_uuid": uuid,
        "submitter": "bench",
        "profile": PROFILE,
        "type": "batch-manifest",
        "payload": "\n".join(lines),
    }
    validated = validate_submission(conf, {PROFILE})
    return validated.submission, validated.jobs


def client_for(port: int, chroot: str):
    from kazoo.client import KazooClient

    root = KazooClient(hosts=f"127.0.0.1:{port}")
    root.start(timeout=15)
    root.ensure_path(chroot)
    root.stop()
    root.close()
    client = KazooClient(hosts=f"127.0.0.1:{port}{chroot}")
    client.start(timeout=15)
    return client


def stage_one_create_per_node(client, submission, jobs) -> int:
    """The running system's way: every node its own synchronous create. Returns the round trips."""
    from include.common.eastern_time import eastern_now
    from include.merritt.layout import EMPTY, batch_claim_nodes, queue_entry
    from include.merritt.states import BatchState, new_batch_status, new_job_status
    from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

    QueueNodes(client).ensure_layout()
    trips = 0

    def create(path, data=EMPTY, sequence=False):
        nonlocal trips
        trips += 1
        return client.create(path, data, sequence=sequence)

    now = eastern_now()
    bid = create("/batches/bid", sequence=True).rsplit("/", 1)[1]
    record = submission.record(now)
    for path, data in batch_claim_nodes(bid, record, new_batch_status(BatchState.PROCESSING, now))[1:]:
        create(path, data)
    create(f"/batches/{bid}/states/batch-processing")
    status = new_job_status(now)
    jids = []
    for job in jobs:
        jid = create("/jobs/jid", sequence=True).rsplit("/", 1)[1]
        for path, data in job.nodes(jid, bid, record, status)[1:]:
            create(path, data)
        jids.append(jid)
    for job, jid in zip(jobs, jids, strict=True):
        create(queue_entry("pending", job.priority, jid))
    return trips


def count_nodes(client) -> int:
    """Every node under the client's chroot, read level by level, 500 requests in flight at a time."""
    level, total = ["/"], 0
    while level:
        total += len(level)
        below = []
        for start in range(0, len(level), 500):
            pending = [(path, client.get_children_async(path)) for path in level[start : start + 500]]
            below += [f"{path.rstrip('/')}/{child}" for path, result in pending for child in result.get()]
        level = below
    return total


def bench_staging(port: int) -> tuple[bool, list[str]]:
    from preservation_pipelines.merritt.queue.staging import BatchStaging
    from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

    submission, jobs = plan(JOBS, "bench-transactions")
    tx_client = client_for(port, "/transactions")
    began = time.perf_counter()
    result = BatchStaging(QueueNodes(tx_client)).stage(submission, jobs)
    tx_seconds = time.perf_counter() - began

    submission, jobs = plan(JOBS, "bench-one-by-one")
    single_client = client_for(port, "/one-by-one")
    began = time.perf_counter()
    single_trips = stage_one_create_per_node(single_client, submission, jobs)
    single_seconds = time.perf_counter() - began

    tx_nodes, single_nodes = count_nodes(tx_client), count_nodes(single_client)
    for client in (tx_client, single_client):
        client.stop()
        client.close()
    speedup = single_seconds / tx_seconds
    print(f"staging a {JOBS:,}-job batch ({tx_nodes:,} vs {single_nodes:,} nodes in the chroot)")
    print(f"  {'':24} {'seconds':>9} {'round trips':>12} {'transactions':>13} {'jobs/s':>9}")
    print(
        f"  {'transactions':24} {tx_seconds:9.2f} {result.round_trips:12,} {result.transactions:13,} {JOBS / tx_seconds:9,.0f}"
    )
    print(
        f"  {'one create per node':24} {single_seconds:9.2f} {single_trips:12,} {'-':>13} {JOBS / single_seconds:9,.0f}"
    )
    print(
        f"  speed-up {speedup:.1f}x (target >= {SPEEDUP_TARGET:.0f}x); round trips / {single_trips / result.round_trips:.0f}"
    )
    missed = []
    if speedup < SPEEDUP_TARGET:
        missed.append(f"staging speed-up {speedup:.1f}x < {SPEEDUP_TARGET}x")
    if tx_seconds >= STAGING_SECONDS_TARGET:
        missed.append(f"10,000-job staging took {tx_seconds:.1f}s >= {STAGING_SECONDS_TARGET}s")
    if tx_nodes != single_nodes:
        missed.append(f"the two stagings wrote different node counts ({tx_nodes} vs {single_nodes})")
    return not missed, missed


def bench_reporting(stack: Devstack) -> None:
    from include.merritt.layout import EMPTY
    from preservation_pipelines.merritt.queue.staging import BatchStaging
    from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

    client = client_for(stack["zookeeper"].port, "/reporting")
    nodes = QueueNodes(client)
    staging = BatchStaging(nodes)
    began = time.perf_counter()
    for n in range(BATCHES):
        result = staging.stage(*plan(1, f"bench-report-{n}"))
        nodes.commit(
            [
                ("delete", f"/batches/{result.bid}/states/batch-processing/{result.first_jid}", None),
                ("create", f"/batches/{result.bid}/states/batch-completed", EMPTY),
                ("create", f"/batches/{result.bid}/states/batch-completed/{result.first_jid}", EMPTY),
            ],
            "finish the job",
        )
    setup_seconds = time.perf_counter() - began
    client.stop()
    client.close()

    os.environ["AIRFLOW_CONN_MERRITT_ZK"] = json.dumps(
        {"conn_type": "generic", "host": "127.0.0.1", "port": stack["zookeeper"].port, "schema": "reporting"}
    )
    from preservation_pipelines.merritt.operators.reporting import MerrittBatchReportingOperator

    operator = MerrittBatchReportingOperator(task_id="report_finished_batches")
    began = time.perf_counter()
    summary = operator.execute({})
    report_seconds = time.perf_counter() - began
    began = time.perf_counter()
    idle = operator.execute({})
    idle_seconds = time.perf_counter() - began
    print(f"\nreporting {BATCHES:,} finished batches (set up by staging them in {setup_seconds:.1f}s)")
    print(
        f"  reported {len(summary['reported']):,} in {report_seconds:.2f}s ({len(summary['reported']) / report_seconds:,.0f} batches/s)"
    )
    print(f"  next run, nothing left to report: {idle_seconds:.2f}s to scan {idle['batches']:,} batches")
    if len(summary["reported"]) != BATCHES:
        raise SystemExit(f"reported {len(summary['reported'])} of {BATCHES} batches")


def main() -> int:
    use_plugins_folder()
    workdir = REPO_ROOT / ".devstack" / "bench-merritt"
    shutil.rmtree(workdir, ignore_errors=True)  # a fresh ZooKeeper: no batches left from an earlier run
    stack = Devstack(workdir, ports="free")
    try:
        stack.start(["zookeeper"])
        ok, missed = bench_staging(stack["zookeeper"].port)
        bench_reporting(stack)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if not ok:
        print("TARGET MISSED: " + "; ".join(missed))
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
