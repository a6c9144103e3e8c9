"""Merritt demo: the collection profiles, a web server for the demo's payloads, and a batch Merritt's workers
have finished (one job failed).

`make demo` then shows `merritt_batch_reporting` reporting that batch as Failed, the staging
DAG staging a new five-job batch (each job's payload fetched from the demo's web server into
the devstack's queue root), and the admin DAG re-queuing the failed job.

The payload server runs in a thread of the process that seeds (the devstack's `run` or `demo`
command, or the test session), on loopback, which Variable `merritt_fetch_allowed_networks`
allows in `airflow_settings.yaml`; it serves as long as that process runs.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devstack.settings import use_plugins_folder
from devstack.stack import Devstack

PROFILES = ["merritt_demo_content", "merritt_demo_images"]  # as Variable merritt_profiles in airflow_settings.yaml
FINISHED_BATCH_UUID = "demo-finished-batch"
_OBJECT_PATH = re.compile(r"/(?P<name>[a-z]+)/object(?P<n>[0-9]+)\.checkm")
_payload_server: ThreadingHTTPServer | None = None


def object_manifest(name: str, n: int) -> bytes:
    """What the demo serves at ``/<name>/object<n>.checkm``: one object's manifest."""
    return (
        "#%checkm_0.7\n"
        "#%profile | http://uc3.cdlib.org/registry/ingest/manifest/mrt-ingest-manifest\n"
        "#%fields | nfo:fileUrl | nfo:fileName\n"
        f"https://example.org/{name}/object{n}/page1.tif | page1.tif\n"
        "#%eof\n"
    ).encode()


class _PayloadHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        match = _OBJECT_PATH.fullmatch(self.path)
        body = object_manifest(match["name"], int(match["n"])) if match else None
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


def payload_base_url() -> str:
    """The demo payload server's URL, started on first use (once per process)."""
    global _payload_server
    if _payload_server is None:
        _payload_server = ThreadingHTTPServer(("127.0.0.1", 0), _PayloadHandler)
        _payload_server.daemon_threads = True
        threading.Thread(target=_payload_server.serve_forever, name="merritt-demo-payloads", daemon=True).start()
    return f"http://127.0.0.1:{_payload_server.server_port}"


def demo_manifest(name: str, rows: int, base: str) -> str:
    lines = [
        "#%checkm_0.7",
        "#%profile | http://uc3.cdlib.org/registry/ingest/manifest/mrt-batch-manifest",
        "#%fields | nfo:fileUrl | nfo:hashAlgorithm | nfo:hashValue | nfo:fileName | mrt:localIdentifier | mrt:title",
    ]
    lines += [
        f"{base}/{name}/object{n}.checkm | | | object{n}.checkm | {name}-{n} | {name.title()} object {n}"
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

    base = payload_base_url()
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
                "payload": demo_manifest("finished", 3, "https://example.org"),
                "title": "Demo batch the workers have finished",
            },
            PROFILES,
        )
        staging = BatchStaging(nodes)  # its jobs are finished at once: Merritt's workers have moved their payloads
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
            "payload": demo_manifest("images", 5, base),
            "title": "Demo image batch",
        },
        "merritt_queue_admin": {"action": "requeue_job", "target": failing},
    }
