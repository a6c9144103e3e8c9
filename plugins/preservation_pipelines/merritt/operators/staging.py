"""Staging a submission: fetch its manifest once, validate it, and stage exactly what was validated.

Bad input (a field, a manifest row, a URL or answer the fetch refuses, a Variable that is
not what it should be) fails the task at once with ``AirflowFailException``: retrying
cannot fix it. A fetch that did not complete and ZooKeeper trouble (unreachable,
connection lost, session expired) are retried, the latter first by the hook across
reconnects, then by Airflow's task retries: every step is idempotent on the submission
uuid, and a retry that fetches a manifest that changed since an interrupted try began
the batch is refused instead of mixing the two.
"""

from __future__ import annotations

import json
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
STAGING_TIMEOUT = timedelta(minutes=30)  # a try still running after this is ended by Airflow
SUBMISSION_UUID_NAMESPACE = uuid.UUID("5b0f6a52-6f1d-4b55-9d0e-6d6572726974")
PROGRESS_EVERY_SECONDS = 5.0


def default_submission_uuid(dag_id: str, run_id: str) -> str:
    """The same uuid for every try of a run: clearing or retrying never stages a submission twice."""
    return str(uuid.uuid5(SUBMISSION_UUID_NAMESPACE, f"{dag_id}/{run_id}"))


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
                raise AirflowFailException(
                    f"submission {submission.uuid} refused: {error}. Restore that manifest and clear the task, or "
                    "remove the unpublished batch (merritt_queue_admin, remove_unpublished_batch) and trigger again"
                ) from None
        summary.update(vars(result))
        if result.already_staged:
            self.log.info("submission %s was already staged as %s: nothing written", submission.uuid, result.bid)
        self.log.info("run summary: %s", summary)
        return summary

    def validated(self, context):
        conf = dict(self.submission if self.submission is not None else context["params"])
        if not conf.get("submission_uuid"):
            conf["submission_uuid"] = default_submission_uuid(context["dag"].dag_id, context["run_id"])
        profiles = json_variable(PROFILES_VARIABLE)
        if not isinstance(profiles, list) or not profiles:
            raise AirflowFailException(
                f"Variable {PROFILES_VARIABLE} must hold the JSON list of Merritt collection profiles"
            )
        from include.merritt.fetch import fetch, parse_allowed_networks

        try:
            allowed_networks = parse_allowed_networks(json_variable(FETCH_ALLOWED_NETWORKS_VARIABLE))
        except ValueError as error:
            raise AirflowFailException(f"Variable {FETCH_ALLOWED_NETWORKS_VARIABLE}: {error}") from None
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
