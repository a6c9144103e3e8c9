"""Staging a submission: fetch its manifest once, validate it, put each job's payload in the queue root, stage.

Bad input (a field, a manifest row, a URL or answer the fetch refuses, a payload whose
digest differs, a Variable that is not what it should be) and a queue root that is not
configured or not writable fail the task at once with ``AirflowFailException``: retrying
cannot fix them. A fetch that did not complete, a payload file that could not be
written and ZooKeeper trouble (unreachable, connection lost, session expired) are
retried, the latter first by the hook across reconnects, then by Airflow's task
retries: every step is idempotent on the submission's batchID, and a retry that fetches
a manifest that changed since an interrupted try began the batch is refused instead of
mixing the two.

The queue root is the ingest service's queue directory (``<ingestServicePath>/queue``)
as the worker running this task mounts it: extra ``queue_root`` of the ``merritt_zk``
connection, else Variable ``merritt_queue_root``. Route the task to workers that mount
it with the environment Variables ``AIRFLOW_VAR_MERRITT_STAGING_QUEUE`` (the operator's
``queue``) and ``AIRFLOW_VAR_MERRITT_STAGING_POOL``, read when the DAG file is parsed
(:func:`staging_routing`).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowFailException

from include.common.progress import ProgressLog
from include.merritt.checkm import ManifestError
from include.merritt.submission import SubmissionError, validate_submission
from include.merritt.text import shown
from preservation_pipelines.merritt.operators.base import MerrittBaseOperator

# the fetch (ssl, http.client) and the queue (kazoo) are imported inside execute(): DAG parsing stays cheap.

PROFILES_VARIABLE = "merritt_profiles"
FETCH_ALLOWED_NETWORKS_VARIABLE = "merritt_fetch_allowed_networks"
QUEUE_ROOT_VARIABLE = "merritt_queue_root"
QUEUE_ROOT_EXTRA = "queue_root"
STAGING_QUEUE_VARIABLE = "merritt_staging_queue"
STAGING_POOL_VARIABLE = "merritt_staging_pool"
STAGING_TIMEOUT = timedelta(minutes=30)  # a try still running after this is ended by Airflow
SUBMISSION_UUID_NAMESPACE = uuid.UUID("5b0f6a52-6f1d-4b55-9d0e-6d6572726974")
PROGRESS_EVERY_SECONDS = 5.0


def default_submission_uuid(dag_id: str, run_id: str) -> str:
    """The same uuid for every try of a run: clearing or retrying never stages a submission twice."""
    return str(uuid.uuid5(SUBMISSION_UUID_NAMESPACE, f"{dag_id}/{run_id}"))


def staging_routing(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The staging task's ``queue`` and ``pool``, from the environment Variables ``AIRFLOW_VAR_MERRITT_STAGING_QUEUE``
    and ``..._POOL`` when set: workers that mount the queue root. Read from the environment because a DAG file
    reads no Variable from the metadata DB when it is parsed; unset, Airflow's defaults apply."""
    environ = os.environ if environ is None else environ
    routing = {
        "queue": environ.get(f"AIRFLOW_VAR_{STAGING_QUEUE_VARIABLE.upper()}", "").strip(),
        "pool": environ.get(f"AIRFLOW_VAR_{STAGING_POOL_VARIABLE.upper()}", "").strip(),
    }
    return {key: value for key, value in routing.items() if value}


def progress_per_step(log) -> Callable[[str, int, int], None]:
    """A ``progress(step, done, total)`` callback logging one progress line per staging step."""
    lines: dict[str, ProgressLog] = {}

    def report(step: str, done: int, total: int) -> None:
        if step not in lines:
            lines[step] = ProgressLog(log, step, total=total, interval=PROGRESS_EVERY_SECONDS)
        lines[step](done)

    return report


class MerrittStagingOperator(MerrittBaseOperator):
    """Validate a submission (the DAG's params/conf) and its manifest, then stage that very plan.

    The manifest behind a URL is fetched once per try, here, and the jobs staged are
    the ones validated from those bytes. Nothing is written unless every field and
    every manifest row is valid. The submission uuid defaults to one derived from the
    DAG run, so a retried or cleared run finds the batch it staged
    (``/batch-uuids/<uuid>``) instead of staging again.
    """

    template_fields = ("submission",)

    def __init__(self, *, submission: dict[str, Any] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.submission = submission

    def execute(self, context) -> dict[str, Any]:
        from include.merritt.payloads import QueueRoot, QueueRootError
        from preservation_pipelines.merritt.queue.staging import BatchStaging, SubmissionChanged
        from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

        queue_root = QueueRoot(self.queue_root_setting())
        try:
            queue_root.check_writable()
        except QueueRootError as error:
            raise AirflowFailException(f"nothing staged: {error}") from None
        allowed_networks = self.allowed_networks()
        validated = self.validated(context, allowed_networks)
        submission, jobs = validated.submission, validated.jobs
        summary: dict[str, Any] = {
            "submission_uuid": submission.uuid,
            "batch_id": submission.batch_id,
            "profile": submission.profile,
            "type": submission.type,
            "manifest_rows": validated.manifest_rows,
            "jobs": len(jobs),
            "priority": jobs[0].priority,
        }
        self.log.info("submission valid: %s", summary)
        with self.zookeeper_hook as hook:
            nodes = QueueNodes(hook.get_conn())
            staging = BatchStaging(nodes, progress=progress_per_step(self.log))
            if nodes.ingest_frozen():
                self.log.warning("the ingest queue is frozen (/locks/queue/ingest): jobs wait until it is thawed")
            try:
                begun = hook.retry(staging.jobs_begun, submission, jobs)
                summary["payloads_fetched"] = self.put_payloads(
                    queue_root, submission.batch_id, jobs, begun, allowed_networks, staging
                )
                result = hook.retry(staging.stage, submission, jobs)
            except SubmissionChanged as error:
                raise AirflowFailException(
                    f"submission {submission.uuid} refused: {error}. Restore that manifest and clear the task, or "
                    "remove the unpublished batch (merritt_queue_admin, remove_unpublished_batch) and trigger again"
                ) from None
        summary.update(vars(result))
        if result.already_staged:
            self.log.info("submission %s was already staged as %s: nothing written", submission.uuid, result.bid)
        self.log.info("run summary: %s", summary)
        return summary

    def queue_root_setting(self) -> str:
        """The queue root: extra ``queue_root`` of the ZooKeeper connection, else Variable ``merritt_queue_root``."""
        extra = self.zookeeper_hook.get_connection(self.merritt_zk_conn_id).extra_dejson
        root = str(extra.get(QUEUE_ROOT_EXTRA) or Variable.get(QUEUE_ROOT_VARIABLE, default=None) or "").strip()
        if not root:
            raise AirflowFailException(
                f"nothing staged: no queue root: set extra {QUEUE_ROOT_EXTRA!r} of connection {self.merritt_zk_conn_id} "
                f"or Variable {QUEUE_ROOT_VARIABLE} to Merritt's ingest queue directory as this worker mounts it"
            )
        return root

    def allowed_networks(self):
        from include.merritt.fetch import parse_allowed_networks

        try:
            return parse_allowed_networks(json_variable(FETCH_ALLOWED_NETWORKS_VARIABLE))
        except ValueError as error:
            raise AirflowFailException(f"Variable {FETCH_ALLOWED_NETWORKS_VARIABLE}: {error}") from None

    def put_payloads(self, queue_root, batch_id: str, jobs, begun: int, allowed_networks, staging) -> int:
        """Each job's payload file in ``<queue root>/<batchID>/<jobID>/``; how many were written now.

        Done before the batch's jobs are created (before anything is written for a new batch),
        so no worker finds a queued job without its payload. The files of the ``begun`` jobs an
        earlier try created are kept; every other one is fetched again, so a file left by a try
        that fetched another manifest is never staged. A payload refused (its URL, its answer,
        its digest) fails at once; the files of a batch not in ZooKeeper are removed then.
        """
        from include.merritt.fetch import fetch_into

        def fetcher(url, write, max_bytes, deadline_seconds):
            return fetch_into(
                url, write, max_bytes, allowed_networks=allowed_networks, deadline_seconds=deadline_seconds
            )

        progress = ProgressLog(self.log, "payloads in place", total=len(jobs), interval=PROGRESS_EVERY_SECONDS)
        fetched = 0
        try:
            for done, job in enumerate(jobs, 1):
                fetched += queue_root.put_payload(batch_id, job, fetcher, keep_existing=done <= begun)
                progress(done)
        except SubmissionError as error:
            if staging.find_batch(batch_id) is None:
                queue_root.remove_batch_directory(batch_id)
            raise AirflowFailException(f"nothing staged: {error}") from None
        self.log.info("%d payload file(s) in %s (%d fetched now)", len(jobs), queue_root.path / batch_id, fetched)
        return fetched

    def validated(self, context, allowed_networks):
        conf = dict(self.submission if self.submission is not None else context["params"])
        if not conf.get("submission_uuid"):
            conf["submission_uuid"] = default_submission_uuid(context["dag"].dag_id, context["run_id"])
        profiles = json_variable(PROFILES_VARIABLE)
        if not isinstance(profiles, list) or not profiles:
            raise AirflowFailException(
                f"Variable {PROFILES_VARIABLE} must hold the JSON list of Merritt collection profiles"
            )
        from include.merritt.fetch import fetch

        try:
            return validate_submission(conf, profiles, fetch=partial(fetch, allowed_networks=allowed_networks))
        except (SubmissionError, ManifestError) as error:
            raise AirflowFailException(f"submission {shown(conf.get('submission_uuid'))} refused: {error}") from None


def json_variable(name: str) -> Any:
    """A Variable holding JSON, None when it is not set; one that is not JSON fails the task at once."""
    text = Variable.get(name, default=None)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise AirflowFailException(f"Variable {name} is not valid JSON") from None
