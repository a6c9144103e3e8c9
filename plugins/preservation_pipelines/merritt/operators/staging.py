"""Staging a submission: fetch its manifest once, validate it, and stage exactly what was validated.

Bad input (a field, a manifest row) fails the task at once with ``AirflowFailException``:
retrying cannot fix it. ZooKeeper trouble (unreachable, connection lost, session expired)
is retried, first by the hook across reconnects, then by Airflow's task retries: every
step is idempotent on the submission uuid, and a retry that fetches a manifest that
changed since an interrupted try began the batch is refused instead of mixing the two.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from airflow.sdk import Variable
from airflow.sdk.exceptions import AirflowFailException

from include.common.progress import ProgressLog
from include.merritt.checkm import ManifestError
from include.merritt.submission import SubmissionError, validate_submission
from preservation_pipelines.merritt.operators.base import MerrittBaseOperator

# requests and the queue (kazoo) are imported inside execute(): DAG parsing stays cheap.

PROFILES_VARIABLE = "merritt_profiles"
SUBMISSION_UUID_NAMESPACE = uuid.UUID("5b0f6a52-6f1d-4b55-9d0e-6d6572726974")
PROGRESS_EVERY_SECONDS = 5.0


def default_submission_uuid(dag_id: str, run_id: str) -> str:
    """The same uuid for every try of a run: clearing or retrying never stages a submission twice."""
    return str(uuid.uuid5(SUBMISSION_UUID_NAMESPACE, f"{dag_id}/{run_id}"))


def fetch_manifest(url: str, limit: int) -> bytes:
    """GET a manifest, reading at most ``limit + 1`` bytes so an oversized one is refused, not loaded."""
    import requests

    with requests.get(url, stream=True, timeout=(10, 60)) as response:
        response.raise_for_status()
        data = bytearray()
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > limit:
                break
        return bytes(data)


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
        from preservation_pipelines.merritt.queue.staging import BatchStaging, SubmissionChanged
        from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

        validated = self.validated(context)
        submission, jobs = validated.submission, validated.jobs
        summary: dict[str, Any] = {
            "submission_uuid": submission.uuid,
            "profile": submission.profile,
            "type": submission.type,
            "manifest_rows": validated.manifest_rows,
            "jobs": len(jobs),
            "priority": jobs[0].priority,
        }
        self.log.info("submission valid: %s", summary)
        with self.zookeeper_hook as hook:
            staging = BatchStaging(QueueNodes(hook.get_conn()), progress=progress_per_step(self.log))
            if staging.ingest_frozen():
                self.log.warning("the ingest queue is frozen (/locks/queue/ingest): jobs wait until it is thawed")
            try:
                result = hook.retry(staging.stage, submission, jobs)
            except SubmissionChanged as error:
                raise AirflowFailException(f"submission {submission.uuid} refused: {error}") from None
        summary.update(vars(result))
        if result.already_staged:
            self.log.info("submission %s was already staged as %s: nothing written", submission.uuid, result.bid)
        self.log.info("run summary: %s", summary)
        return summary

    def validated(self, context):
        conf = dict(self.submission if self.submission is not None else context["params"])
        if not conf.get("submission_uuid"):
            conf["submission_uuid"] = default_submission_uuid(context["dag"].dag_id, context["run_id"])
        profiles = Variable.get(PROFILES_VARIABLE, default=None, deserialize_json=True)
        if not isinstance(profiles, list) or not profiles:
            raise AirflowFailException(
                f"Variable {PROFILES_VARIABLE} must hold the JSON list of Merritt collection profiles"
            )
        try:
            return validate_submission(conf, profiles, fetch=fetch_manifest)
        except (SubmissionError, ManifestError) as error:
            raise AirflowFailException(f"submission {conf.get('submission_uuid')} refused: {error}") from None
