"""Test support for the Merritt queue: per-test chroots on the real ZooKeeper, manifests, a web server, and a worker.

``QueueWorker`` is written here, independently of the plugin code, the way the spec
says Merritt's ingest workers consume the queue: take the lexically smallest
``/jobs/states/pending/PP-jid``, hold the ephemeral ``/jobs/<jid>/lock``, move the job
through its states (status node, queue entry, batch entry), one plain call at a time.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

PROFILE = "merritt_demo_content"
FIELDS = "#%fields | nfo:fileUrl | nfo:hashAlgorithm | nfo:hashValue | nfo:fileName | mrt:primaryIdentifier | mrt:localIdentifier | mrt:title"
PIPELINE = [
    "Pending",
    "Estimating",
    "Provisioning",
    "Downloading",
    "Processing",
    "Storing",
    "Recording",
    "Notify",
    "Completed",
]


def object_payload(n: int) -> bytes:
    """What a batch manifest's row ``n`` points to: a small object manifest (checkm)."""
    return (
        "#%checkm_0.7\n#%profile | http://uc3.cdlib.org/registry/ingest/manifest/mrt-ingest-manifest\n"
        f"#%fields | nfo:fileUrl | nfo:fileName\nhttps://example.org/files/{n:06d}.txt | {n:06d}.txt\n#%eof\n"
    ).encode()


def batch_manifest(rows: int, *, start: int = 0, base: str = "https://example.org") -> str:
    """A batch manifest of ``rows`` object manifests at ``<base>/objects/NNNNNN.checkm`` (the web fixture serves them)."""
    lines = ["#%checkm_0.7", "#%profile | http://uc3.cdlib.org/registry/ingest/manifest/mrt-batch-manifest", FIELDS]
    lines += [
        f"{base}/objects/{n:06d}.checkm | md5 | {hashlib.md5(object_payload(n)).hexdigest()} | {n:06d}.checkm | "
        f"| loc{n:06d} | Object {n}"
        for n in range(start, start + rows)
    ]
    return "\n".join(lines + ["#%eof", ""])


def submission_conf(rows: int = 3, **overrides) -> dict:
    return {
        "submission_uuid": f"u-{uuid.uuid4().hex[:12]}",
        "submitter": "jdoe@example.org",
        "profile": PROFILE,
        "type": "batch-manifest",
        "payload": batch_manifest(rows),
        **overrides,
    }


def plan(conf: dict):
    """The validated submission of an inline-manifest conf (its profile counts as known)."""
    from include.merritt.submission import validate_submission

    return validate_submission(conf, [conf["profile"]])


def stage(client: KazooClient, conf: dict, *, max_transaction_bytes: int | None = None, **staging_options):
    """Stage straight through the queue (the staging DAG and operator have their own tests)."""
    from include.merritt.limits import MAX_TRANSACTION_BYTES
    from preservation_pipelines.merritt.queue.staging import BatchStaging
    from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

    nodes = QueueNodes(client, max_transaction_bytes=max_transaction_bytes or MAX_TRANSACTION_BYTES)
    validated = plan(conf)
    return BatchStaging(nodes, **staging_options).stage(validated.submission, validated.jobs)


def half_staged(client: KazooClient, conf: dict) -> str:
    """Stage ``conf`` and stop after its first jobs transaction; the bid of what is left: some jobs, none queued."""
    from include.merritt.submission import batch_id_of

    interrupted = []

    def interrupt(step, done, total):
        if step == "jobs created" and not interrupted:
            interrupted.append(done)
            raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        stage(client, conf, max_transaction_bytes=30_000, progress=interrupt)
    return client.get(f"/batch-uuids/{batch_id_of(conf['submission_uuid'])}")[0].decode()


def connect(port: int, chroot: str = "") -> KazooClient:
    """A started client that, like the hook's, keeps reconnecting while the server is away."""
    client = KazooClient(
        hosts=f"127.0.0.1:{port}{chroot}", timeout=10, connection_retry=KazooRetry(max_tries=-1, max_delay=1)
    )
    client.start(timeout=15)
    return client


@pytest.fixture
def zk_chroot(zookeeper):
    """A fresh chroot for one test (left in place: the session's ZooKeeper goes away with the session)."""
    chroot = f"/merritt-test-{uuid.uuid4().hex[:10]}"
    root = connect(zookeeper.port)
    root.create(chroot)
    root.stop()
    root.close()
    return chroot


@pytest.fixture
def zk(zookeeper, zk_chroot):
    client = connect(zookeeper.port, zk_chroot)
    yield client
    client.stop()
    client.close()


@pytest.fixture
def queue_root(tmp_path):
    """The test's stand-in for Merritt's ingest queue directory."""
    root = tmp_path / "ingest-queue"
    root.mkdir()
    return root


@pytest.fixture
def merritt_conn(zookeeper, zk_chroot, queue_root, monkeypatch):
    """Point ``merritt_zk`` at the test's chroot (the schema field) and queue root, and register the demo profile."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_MERRITT_ZK",
        json.dumps(
            {
                "conn_type": "generic",
                "host": "127.0.0.1",
                "port": zookeeper.port,
                "schema": zk_chroot,
                "extra": {"connect_timeout": 5, "max_tries": 4, "queue_root": str(queue_root)},
            }
        ),
    )
    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_PROFILES", json.dumps([PROFILE, "other_profile"]))
    return zk_chroot


@pytest.fixture
def web(monkeypatch):
    """A local web server: put bytes in ``web.pages[path]``, fetch ``web.url + path``; ``web.gets`` lists the GETs.

    ``/objects/NNNNNN.checkm`` (what ``batch_manifest(..., base=web.url)`` rows point to) answers
    ``object_payload(NNNNNN)`` unless a page or handler is set for it.

    A list of bytes in ``web.pages[path]`` is served one element per GET (the last one again and again);
    ``web.handlers[path]`` is a function answering the request itself (redirects, errors, slow bodies).
    The server is on loopback, which the staging fetch refuses unless allowed: the fixture lists it in
    Variable ``merritt_fetch_allowed_networks``, as an operator allows an internal depositor.
    """
    pages: dict[str, bytes | list[bytes]] = {}
    handlers: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
    gets: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            gets.append(self.path)
            if self.path in handlers:
                handlers[self.path](self)
                return
            body = pages.get(self.path)
            if body is None and re.fullmatch(r"/objects/[0-9]{6}\.checkm", self.path):
                body = object_payload(int(self.path[9:15]))
            if isinstance(body, list):
                body = body[min(gets.count(self.path), len(body)) - 1]
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            if body is not None:
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AIRFLOW_VAR_MERRITT_FETCH_ALLOWED_NETWORKS", json.dumps(["127.0.0.1/32"]))
    yield SimpleNamespace(
        pages=pages, handlers=handlers, gets=gets, url=f"http://127.0.0.1:{server.server_port}", port=server.server_port
    )
    server.shutdown()
    server.server_close()


def read_json(client: KazooClient, path: str) -> dict:
    return json.loads(client.get(path)[0])


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S %z")


class QueueWorker:
    def __init__(self, client: KazooClient) -> None:
        self.client = client
        self.taken: list[str] = []

    def acquire(self, state: str = "Pending") -> tuple[str, str] | None:
        """The most urgent job in ``state`` this worker could lock: (jid, queue entry name)."""
        if self.client.exists("/locks/queue/ingest"):
            return None
        folder = f"/jobs/states/{state.lower()}"
        for name in sorted(self.client.get_children(folder)):
            jid = name.split("-", 1)[1]
            try:
                self.client.create(f"/jobs/{jid}/lock", b"", ephemeral=True)
            except NodeExistsError:
                continue
            if self.client.exists(f"{folder}/{name}"):
                return jid, name
            self.client.delete(f"/jobs/{jid}/lock")  # another worker already took it through
        return None

    def move(self, jid: str, entry: str, old: str, new: str, message: str = "") -> None:
        status = read_json(self.client, f"/jobs/{jid}/status")
        assert status["status"] == old, (jid, status, old)
        if new not in ("Failed", "Deleted") and old not in ("Failed", "Deleted"):
            status["last_successful_status"] = old
        status.update(status=new, message=message, last_modified=now_text())
        self.client.set(f"/jobs/{jid}/status", json.dumps(status).encode())
        self.client.delete(f"/jobs/states/{old.lower()}/{entry}")
        self.client.create(f"/jobs/states/{new.lower()}/{entry}", b"", makepath=True)
        bid = self.client.get(f"/jobs/{jid}/bid")[0].decode()
        folder = {"Completed": "batch-completed", "Failed": "batch-failed", "Deleted": "batch-deleted"}
        old_folder, new_folder = folder.get(old, "batch-processing"), folder.get(new, "batch-processing")
        if old_folder != new_folder:
            self.client.delete(f"/batches/{bid}/states/{old_folder}/{jid}")
            self.client.create(f"/batches/{bid}/states/{new_folder}/{jid}", b"", makepath=True)

    def run_one(self, fail_in: str | None = None, state: str = "Pending") -> str | None:
        """Take one job in ``state`` and run it to Completed (or Failed in ``fail_in``); its jid, or None."""
        taken = self.acquire(state)
        if taken is None:
            return None
        jid, entry = taken
        steps = PIPELINE[PIPELINE.index(state) :]
        try:
            for old, new in itertools.pairwise(steps):
                if old == fail_in:
                    self.move(jid, entry, old, "Failed", f"{old.lower()} failed: GET 404 for {jid}")
                    break
                self.move(jid, entry, old, new)
        finally:
            try:
                self.client.delete(f"/jobs/{jid}/lock")
            except NoNodeError:
                pass
        self.taken.append(jid)
        return jid

    def run_all(self, fail_in: str | None = None) -> list[str]:
        while self.run_one(fail_in) is not None:
            pass
        return self.taken
