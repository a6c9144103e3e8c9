"""Merritt demo: the collection profiles, and a batch whose jobs Merritt's workers have finished (one failed).

`make demo` then shows `merritt_batch_reporting` reporting that batch as Failed, the staging
DAG staging a new five-job batch, and the admin DAG re-queuing the failed job.
"""

from __future__ import annotations

from typing import Any

from devstack.settings import use_plugins_folder
from devstack.stack import Devstack

PROFILES = ["merritt_demo_content", "merritt_demo_images"]  # as Variable merritt_profiles in airflow_settings.yaml
FINISHED_BATCH_UUID = "demo-finished-batch"


def demo_manifest(name: str, rows: int) -> str:
    lines = [
        "#%checkm_0.7",
        "#%profile | http://uc3.cdlib.org/registry/ingest/manifest/mrt-batch-manifest",
        "#%fields | nfo:fileUrl | nfo:hashAlgorithm | nfo:hashValue | nfo:fileName | mrt:localIdentifier | mrt:title",
    ]
    lines += [
        f"https://example.org/{name}/object{n}.checkm | | | object{n}.checkm | {name}-{n} | {name.title()} object {n}"
        for n in range(1, rows + 1)
    ]
    return "\n".join(lines + ["#%eof", ""])


def seed(stack: Devstack) -> dict[str, dict[str, Any]]:
    use_plugins_folder()
    from kazoo.client import KazooClient

    from include.merritt.states import JOB_PIPELINE, JobState
    from include.merritt.submission import validate_submission
    from preservation_pipelines.merritt.queue.moves import JobMoves
    from preservation_pipelines.merritt.queue.staging import BatchStaging
    from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

    client = KazooClient(hosts=f"127.0.0.1:{stack['zookeeper'].port}")
    client.start(timeout=15)
    try:
        nodes = QueueNodes(client)
        jobs = JobMoves(nodes)
        validated = validate_submission(
            {
                "submission_uuid": FINISHED_BATCH_UUID,
                "submitter": "curator@example.org",
                "profile": PROFILES[0],
                "type": "batch-manifest",
                "payload": demo_manifest("finished", 3),
                "title": "Demo batch the workers have finished",
            },
            PROFILES,
        )
        staging = BatchStaging(nodes)
        staged = staging.stage(validated.submission, validated.jobs)
        jids = staging.batches.batch_jids(staged.bid)
        failing = jids[-1]
        for jid in jids:
            if jobs.job_status(jid)[0]["status"] != JobState.PENDING.value:
                continue  # seeded before
            for target in JOB_PIPELINE[1:] if jid != failing else JOB_PIPELINE[1:4]:
                jobs.move_job(jid, target)
            if jid == failing:
                jobs.move_job(
                    jid, JobState.FAILED, f"GET https://example.org/finished/object3.checkm: 404 Not Found ({jid})"
                )
    finally:
        client.stop()
        client.close()
    return {
        "merritt_ingest_staging": {
            "submitter": "curator@example.org",
            "profile": PROFILES[1],
            "type": "batch-manifest",
            "payload": demo_manifest("images", 5),
            "title": "Demo image batch",
        },
        "merritt_queue_admin": {"action": "requeue_job", "target": failing},
    }
