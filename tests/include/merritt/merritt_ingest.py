"""A small stand-in for Merritt's running ingest service, written from the spec (``../shared/spec/merritt.md``).

It shares the queue with the DAGs the way Merritt's ingest does, one plain ZooKeeper call at
a time, through none of the plugin code:

- ``submit``: a batch made Merritt's way: ``/batches/bid…`` (the next sequential name) with
  ``submission`` and ``status`` Pending and no ``states`` (created together here, so that
  this stand-in's own reporter never meets it half-made);
- ``consume_batches`` (the batch consumer): takes every batch without ``states`` under its
  lock, moves it to Processing, creates its jobs (queued at once) and moves it to Reporting
  while they have not run;
- ``run_pending`` (the Pending consumer and the phases after it): takes the most urgent
  Pending job; a job of a held collection (``/locks/collections/<profile>``) becomes Held;
  any other runs to Completed, reading its payload from ``<queue root>/<batchID>/<jobID>/``
  and taking its local-id lock while Processing; it checks what the workers require
  (``bid-`` batchID, ``identifiers``, JSON ``update`` and ``retry_count``);
- ``release`` (Merritt's admin tool): deletes the collection lock, then Held → Pending;
- ``report`` (the batch reporter): for a batch whose ``batch-processing`` exists and is
  empty, unlocked, Processing/Reporting/UpdateReporting: takes the batch lock, reads again,
  mails the report to the SMTP sink and moves it to Completed or Failed.

Every batch it loads must have ``status`` and a JSON ``submission``, as Merritt's throw
otherwise; a broken promise raises ``MerrittWouldFail``.
"""

from __future__ import annotations

import json
import re
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError

from tests.include.merritt.support import PIPELINE, now_text

OWNER = "ark:/13030/j2rn30xp"  # the collections' owner, as Merritt's profiles name it
FINISHED = {"Completed": "batch-completed", "Failed": "batch-failed", "Deleted": "batch-deleted"}


class MerrittWouldFail(AssertionError):
    """Something Merritt's ingest would throw on."""


def lock_name(identifier: str) -> str:
    """Merritt's lock node names: every ``:/`` and remaining ``/`` becomes ``_``."""
    return re.sub(r":?/", "_", identifier)


class MerrittIngest:
    def __init__(self, client: KazooClient, queue_root: Path, smtp_port: int) -> None:
        self.client = client
        self.queue_root = queue_root
        self.smtp_port = smtp_port
        self.reported: list[str] = []  # bids this reporter reported
        self.local_id_locks: list[str] = []

    # -- reading, as Merritt's libraries load things ----------------------------------------------------
    def _json(self, path: str) -> dict:
        try:
            data = self.client.get(path)[0]
        except NoNodeError:
            raise MerrittWouldFail(f"{path} is missing") from None
        value = json.loads(data)
        if not isinstance(value, dict):
            raise MerrittWouldFail(f"{path} is not a JSON object")
        return value

    def load_batch(self, bid: str) -> tuple[dict, dict]:
        return self._json(f"/batches/{bid}/submission"), self._json(f"/batches/{bid}/status")

    def _set_status(self, path: str, new: str, message: str = "", *, job: bool) -> None:
        status = self._json(path)
        if job and status["status"] not in ("Failed", "Deleted") and new not in ("Failed", "Deleted"):
            status["last_successful_status"] = status["status"]
        status.update(status=new, message=message, last_modified=now_text())
        self.client.set(path, json.dumps(status).encode())

    def _move_job(self, jid: str, entry: str, old: str, new: str, message: str = "") -> None:
        self._set_status(f"/jobs/{jid}/status", new, message, job=True)
        self.client.delete(f"/jobs/states/{old.lower()}/{entry}")
        self.client.create(f"/jobs/states/{new.lower()}/{entry}", b"", makepath=True)
        bid = self.client.get(f"/jobs/{jid}/bid")[0].decode()
        old_folder, new_folder = FINISHED.get(old, "batch-processing"), FINISHED.get(new, "batch-processing")
        if old_folder != new_folder:
            self.client.create(f"/batches/{bid}/states/{new_folder}/{jid}", b"", makepath=True)
            self.client.delete(f"/batches/{bid}/states/{old_folder}/{jid}")

    # -- the ingest service's submission and batch consumer -----------------------------------------------
    def submit(self, profile: str, rows: int, submitter: str) -> str:
        """A batch manifest submitted to Merritt's ingest service; its batchID."""
        batch_id = f"bid-{uuid.uuid4()}"
        submission = {
            "batchID": batch_id,
            "profile": profile,
            "type": "batchManifest",
            "submitter": submitter,
            "filename": "batch.checkm",
            "submissionDate": now_text(),
            "update": False,
            "notificationFormat": "xml",
            "notification": submitter,
            "rows": rows,  # what this stand-in's consumer reads back instead of the manifest
        }
        status = {"status": "Pending", "last_modified": now_text(), "message": ""}
        while True:  # the batch with its submission and status at once (the next sequential name), no states
            bid = f"bid{self.client.exists('/batches').cversion:010d}"
            transaction = self.client.transaction()
            transaction.create(f"/batches/{bid}")
            transaction.create(f"/batches/{bid}/submission", json.dumps(submission).encode())
            transaction.create(f"/batches/{bid}/status", json.dumps(status).encode())
            transaction.create(f"/batch-uuids/{batch_id}", bid.encode())
            if not any(isinstance(result, Exception) for result in transaction.commit()):
                break
        return batch_id

    def consume_batches(self) -> None:
        for bid in sorted(self.client.get_children("/batches")):
            if self.client.exists(f"/batches/{bid}/states") is not None:
                continue
            submission, _ = self.load_batch(bid)
            try:
                self.client.create(f"/batches/{bid}/lock", b"", ephemeral=True)
            except NodeExistsError:
                continue
            try:
                self._set_status(f"/batches/{bid}/status", "Processing", job=False)
                self.client.create(f"/batches/{bid}/states")
                for n in range(submission["rows"]):
                    self._create_job(bid, submission, n)
                self._set_status(f"/batches/{bid}/status", "Reporting", job=False)  # the jobs have not run
            finally:
                self.client.delete(f"/batches/{bid}/lock")

    def _create_job(self, bid: str, submission: dict, n: int) -> None:
        job_id, filename = f"jid-{uuid.uuid4()}", f"object{n}.checkm"
        directory = self.queue_root / submission["batchID"] / job_id
        directory.mkdir(parents=True)
        (directory / filename).write_bytes(b"#%checkm_0.7\n#%eof\n")
        configuration = {
            key: submission[key] for key in ("batchID", "profile", "submitter", "submissionDate", "update")
        }
        configuration.update(jobID=job_id, type="manifest", filename=filename, title=f"Object {n}")
        jid = self.client.create("/jobs/jid", b"", sequence=True).rsplit("/", 1)[1]
        for child, value in [
            ("bid", bid.encode()),
            ("priority", b"5"),
            ("space_needed", b"0"),
            ("configuration", json.dumps(configuration).encode()),
            ("identifiers", json.dumps({"primary_id": "", "local_id": [f"loc{n}"]}).encode()),
            (
                "status",
                json.dumps(
                    {
                        "status": "Pending",
                        "last_modified": now_text(),
                        "message": "",
                        "last_successful_status": None,
                        "retry_count": 0,
                    }
                ).encode(),
            ),
        ]:
            self.client.create(f"/jobs/{jid}/{child}", value)
        self.client.create(f"/batches/{bid}/states/batch-processing/{jid}", b"", makepath=True)
        self.client.create(f"/jobs/states/pending/05-{jid}", b"", makepath=True)

    # -- the job consumers -----------------------------------------------------------------------------------
    def run_pending(self) -> str | None:
        """Take the most urgent Pending job: hold it (held collection) or run it to Completed; its jid."""
        if self.client.exists("/locks/queue/ingest"):
            return None
        for entry in sorted(self.client.get_children("/jobs/states/pending")):
            jid = entry.split("-", 1)[1]
            try:
                self.client.create(f"/jobs/{jid}/lock", b"", ephemeral=True)
            except NodeExistsError:
                continue
            try:
                if self.client.exists(f"/jobs/states/pending/{entry}") is None:
                    continue  # another consumer took it through meanwhile
                self._run(jid, entry)
                return jid
            finally:
                self.client.delete(f"/jobs/{jid}/lock")
        return None

    def _run(self, jid: str, entry: str) -> None:
        configuration = self._json(f"/jobs/{jid}/configuration")
        status = self._json(f"/jobs/{jid}/status")
        identifiers = self._json(f"/jobs/{jid}/identifiers")
        if not configuration.get("batchID", "").startswith("bid-"):
            raise MerrittWouldFail(f"{jid}: batchID {configuration.get('batchID')!r} is not bid-<uuid>")
        if not isinstance(configuration.get("update"), bool) or type(status.get("retry_count")) is not int:
            raise MerrittWouldFail(f"{jid}: update or retry_count is not a JSON boolean/integer")
        if "primary_id" not in identifiers or not isinstance(identifiers.get("local_id"), list):
            raise MerrittWouldFail(f"{jid}: identifiers lacks primary_id or local_id")
        if self.client.exists(f"/locks/collections/{configuration['profile']}"):
            self._move_job(jid, entry, "Pending", "Held", "collection held")
            return
        payload = self.queue_root / configuration["batchID"] / configuration["jobID"] / configuration["filename"]
        for old, new in zip(PIPELINE, PIPELINE[1:], strict=False):
            if old == "Estimating" and not payload.is_file():
                self._move_job(jid, entry, old, "Failed", f"no payload at {payload}")
                return
            if old == "Processing" and identifiers["local_id"]:  # Processing takes the local-id lock
                lock = f"/locks/localid/{lock_name(identifiers['local_id'][0] + '_' + OWNER)}"
                self.client.create(lock, b"", ephemeral=True, makepath=True)
                self.local_id_locks.append(lock.rsplit("/", 1)[1])
                self.client.delete(lock)
            self._move_job(jid, entry, old, new)

    def release(self, profile: str) -> list[str]:
        """Merritt's admin tool releasing a collection: unlock, then each Held job of that profile → Pending."""
        try:
            self.client.delete(f"/locks/collections/{profile}")
        except NoNodeError:
            pass
        released = []
        for entry in sorted(self.client.get_children("/jobs/states/held")):
            jid = entry.split("-", 1)[1]
            if self._json(f"/jobs/{jid}/configuration")["profile"] == profile:
                self._move_job(jid, entry, "Held", "Pending", "collection released")
                released.append(jid)
        return released

    # -- the batch reporter -------------------------------------------------------------------------------------
    def report(self) -> list[str]:
        if self.client.exists("/locks/queue/ingest"):
            return []
        reported = []
        for bid in sorted(self.client.get_children("/batches")):
            submission, status = self.load_batch(bid)  # throws on a batch without status, as Merritt's does
            try:
                if self.client.get_children(f"/batches/{bid}/states/batch-processing"):
                    continue
            except NoNodeError:
                continue
            if status["status"] not in ("Processing", "Reporting", "UpdateReporting"):
                if status["status"] in ("Pending", "Held", "Deleted"):
                    raise MerrittWouldFail(f"{bid}: {status['status']}->Reporting is not allowed")
                continue
            try:
                self.client.create(f"/batches/{bid}/lock", b"", ephemeral=True)
            except NodeExistsError:
                continue
            try:
                submission, status = self.load_batch(bid)
                if status["status"] not in ("Processing", "Reporting", "UpdateReporting"):
                    continue
                if status["status"] == "Processing":
                    self._set_status(f"/batches/{bid}/status", "Reporting", job=False)
                try:
                    failed = self.client.get_children(f"/batches/{bid}/states/batch-failed")
                except NoNodeError:
                    failed = []
                self._mail(submission, failed)
                outcome = "Failed" if failed else "Completed"
                self._set_status(f"/batches/{bid}/status", outcome, "Batch failure" if failed else "", job=False)
                reported.append(bid)
            finally:
                self.client.delete(f"/batches/{bid}/lock")
        self.reported += reported
        return reported

    def _mail(self, submission: dict, failed: list[str]) -> None:
        message = EmailMessage()
        message["From"] = "merritt@localhost"
        message["To"] = "curator@example.org"
        message["Subject"] = f"Merritt batch {submission['batchID']} reported by Merritt: {len(failed)} failed"
        message.set_content("reported by Merritt's own batch reporter\n")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
