"""Merritt's ingest queue in ZooKeeper: stage submissions, report finished batches, administer the queue."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronTriggerTimetable, Param

from include.common.eastern_time import EASTERN_TIMEZONE
from include.merritt.priority import MAX_PRIORITY, MIN_PRIORITY
from include.merritt.submission import ACCEPTED_TYPES, NODE_NAME, SUBMISSION_TYPES
from preservation_pipelines.common.assets import MERRITT_QUEUE
from preservation_pipelines.common.notifiers.failure import TaskFailureNotifier
from preservation_pipelines.merritt.operators.admin import (
    ADMIN_ACTIONS,
    MAX_MESSAGE_CHARACTERS,
    MAX_OLDER_THAN_DAYS,
    MerrittQueueAdminOperator,
)
from preservation_pipelines.merritt.operators.reporting import MerrittBatchReportingOperator
from preservation_pipelines.merritt.operators.staging import STAGING_TIMEOUT, MerrittStagingOperator, staging_routing

DEFAULT_ARGS = {
    "owner": "merritt",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(minutes=30),
    "on_failure_callback": TaskFailureNotifier(recipients_variable="merritt_alert_to"),
}


def _optional_text(title: str, description: str) -> Param:
    return Param(None, type=["null", "string"], title=title, description=description)


SUBMISSION_PARAMS = {
    "submitter": Param(
        type="string", minLength=1, title="Submitter", description="Who submits (Merritt user id or e-mail address)"
    ),
    "profile": Param(
        type="string",
        minLength=1,
        title="Collection profile",
        description="Collection profile name (Variable merritt_profiles)",
    ),
    "type": Param(
        "batch-manifest",
        type="string",
        enum=list(ACCEPTED_TYPES),
        values_display={
            name: f"{name} (stored as {SUBMISSION_TYPES[name]})"
            if name in SUBMISSION_TYPES
            else f"{name} (Merritt's name)"
            for name in ACCEPTED_TYPES
        },
        title="Submission type",
        description="What the payload is (Merritt's stored type names are accepted too)",
    ),
    "payload": Param(
        type="string",
        minLength=1,
        format="multiline",
        title="Payload (URL or manifest)",
        description="An http(s) URL, or the checkm manifest itself (batch manifest types only)",
    ),
    "submission_uuid": Param(
        None,
        type=["null", "string"],
        pattern=f"^$|{NODE_NAME.pattern}",
        title="Submission id",
        description="Idempotency key (1-128 letters, digits, '-', '_', '.'); empty: derived from this DAG run",
    ),
    "priority": Param(
        None,
        type=["null", "integer"],
        minimum=MIN_PRIORITY,
        maximum=MAX_PRIORITY,
        title="Priority",
        description="00 most urgent; empty: by size",
    ),
    "update": Param(
        False, type="boolean", title="Update existing objects", description="Update existing objects instead of adding"
    ),
    "filename": _optional_text("File name", "Name of the submitted file"),
    "title": _optional_text("Title", "ERC what"),
    "creator": _optional_text("Creator", "ERC who"),
    "date": _optional_text("Date", "ERC when"),
    "object_id": _optional_text("Object ark", "The object's ark (ark:/<digits>/<name>), e.g. for an update"),
    "local_id": _optional_text("Local identifiers", "Local identifiers, ';'-separated"),
    "note": _optional_text("Note", "Note kept with the submission"),
    "notification": _optional_text("Report to", "E-mail addresses for the batch report, ','-separated"),
    "response_form": _optional_text("Response format", "Response format (default xml)"),
    "digest_type": _optional_text("Digest type", "Digest algorithm of the payload"),
    "digest_value": _optional_text("Digest value", "Digest of the payload"),
}

with DAG(
    dag_id="merritt_ingest_staging",
    schedule=None,  # manual only
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    params=SUBMISSION_PARAMS,
    tags=["merritt", "zookeeper", "ingest"],
    doc_md="""
### merritt_ingest_staging
Stages one Merritt submission as a batch of jobs in the ZooKeeper ingest queue
(`merritt_zk`), with each job's payload file in Merritt's ingest queue directory, where
Merritt's ingest workers pick the jobs up.

**Trigger** from the UI (params form) or `POST /api/v2/dags/merritt_ingest_staging/dagRuns`
with the same JSON as `conf`: `submitter`, `profile` (one of Variable `merritt_profiles`),
`type`, `payload` (URL, or the checkm manifest itself for the batch-manifest types), optional
`submission_uuid`, `priority`, `title`, `creator`, `date`, `object_id`, `local_id`, `notification`, ...

**Steps** (one task, `stage_batch`): refuse at once if the queue root (extra `queue_root` of
`merritt_zk`, else Variable `merritt_queue_root`) is not configured or not writable; fetch the
manifest if the payload is a URL (once); check every field and every manifest row (errors name
the field or the manifest line; nothing is written then); put each job's payload file in
`<queue root>/<batchID>/<jobID>/`; then stage in ZooKeeper transactions: the batch with its
status (Processing), then its jobs (each listed under `states/batch-processing`), then their
queue entries (`/jobs/states/pending`, or `held` for a held collection's jobs), so no worker or
reporter ever sees half a batch.

**Routing**: the task must run where the queue root is mounted: set the environment Variables
`AIRFLOW_VAR_MERRITT_STAGING_QUEUE` (Celery queue) and/or `AIRFLOW_VAR_MERRITT_STAGING_POOL`
on the dag-processor (docs/merritt.md).

**Recovery**: safe to retry or clear. `/batch-uuids/<batchID>` is the idempotency key (by
default derived from the run id): a re-run finds the batch and finishes whatever an
interrupted run left (lost session, ZooKeeper down), never staging the submission twice;
payload files already in place are kept. If the manifest behind the URL changed since the
interrupted try began the batch, the retry is refused rather than mixing the two (remove that
unpublished batch with `merritt_queue_admin`'s `remove_unpublished_batch`, or restore the
manifest). A write ZooKeeper refuses before any job is queued rolls the batch back. Bad input
fails at once without retries: fix the conf (or the manifest) and trigger a new run.

**URLs** (manifests and payloads) are fetched under rules (docs/merritt.md): http(s) only, no
credentials, public addresses only unless listed in Variable `merritt_fetch_allowed_networks`
(JSON list of networks, for internal depositors), at most 3 redirects each checked again, a
deadline and a size cap.
""",
) as merritt_ingest_staging:
    MerrittStagingOperator(
        task_id="stage_batch", execution_timeout=STAGING_TIMEOUT, outlets=[MERRITT_QUEUE], **staging_routing()
    )


with DAG(
    dag_id="merritt_batch_reporting",
    schedule=CronTriggerTimetable("*/5 * * * *", timezone=EASTERN_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1, "execution_timeout": timedelta(minutes=4)},
    tags=["merritt", "zookeeper", "reporting"],
    doc_md="""
### merritt_batch_reporting
Every 5 minutes: reports exactly the batches Merritt's own batch reporter would take, beside
it: `states/batch-processing` exists and lists no job, the status is Processing, Reporting
(Merritt's ingest sets it while the jobs still run) or UpdateReporting, and the batch's
ephemeral `/batches/<bid>/lock` is free. Each is reported under that lock, read again once
taken: Processing → Reporting, the summary (counts, failed jobs with their messages) is
e-mailed to the submission's `notification` addresses (else the submitter, if an address)
through `smtp_default` and logged, then → Completed (no failed job) or Failed (`Batch
failure`); UpdateReporting → Completed or Failed. A report that can never be sent (a refused
address) is logged and kept in the status message and run summary; the batch is reported all
the same. Every other batch is left alone (logged). Nothing is done while
`/locks/queue/ingest` exists. **Touches** `merritt_zk` and `smtp_default`.

**Recovery**: safe to clear or retry at any time; a batch left in Reporting by an interrupted
run is taken again by the next run of either reporter (its e-mail may then be sent twice). A
batch with a corrupt node is named in the task's error after every other batch has been
reported; fix or delete the node (`zkCli.sh`) and the next run reports it.
""",
) as merritt_batch_reporting:
    MerrittBatchReportingOperator(task_id="report_finished_batches", inlets=[MERRITT_QUEUE], outlets=[MERRITT_QUEUE])


with DAG(
    dag_id="merritt_queue_admin",
    schedule=None,  # manual only
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 2},
    params={
        "action": Param(
            type="string",
            enum=list(ADMIN_ACTIONS),
            values_display={
                action: action.replace("_", " ").capitalize() + (f" (target: {kind})" if kind else " (no target)")
                for action, kind in ADMIN_ACTIONS.items()
            },
            title="Action",
            description="What to do",
        ),
        "target": Param(
            "",
            type="string",
            pattern=f"^$|{NODE_NAME.pattern}",
            title="Target",
            description="Profile (hold/release), jid (job actions) or bid (batch actions)",
        ),
        "message": Param(
            "",
            type="string",
            maxLength=MAX_MESSAGE_CHARACTERS,
            title="Status message",
            description="Message stored in the job/batch status",
        ),
        "older_than_days": Param(
            30,
            type="integer",
            minimum=0,
            maximum=MAX_OLDER_THAN_DAYS,
            title="Older than (days)",
            description="remove_completed_batches: age in days",
        ),
    },
    tags=["merritt", "zookeeper", "admin"],
    doc_md="""
### merritt_queue_admin
One administrative action on the Merritt ingest queue (`merritt_zk`), chosen in the params form:
`hold_collection` (creates `/locks/collections/<profile>`: Merritt's workers then hold the
collection's Pending jobs; batches are never held) / `release_collection` (deletes the lock, then
moves the collection's Held jobs to Pending, skipping locked ones, as Merritt does),
`freeze_queue` / `thaw_queue` (`/locks/queue/ingest`), `requeue_job` (a Failed job to the state
after its `last_successful_status`, retry_count + 1), `fail_job`, `delete_job` (jid),
`delete_batch` (a Held or Failed batch and its Held/Failed jobs; removed at once when every job is
Completed or Deleted), `update_reporting` (a Failed batch whose failed jobs were re-run),
`remove_completed_batches` (Completed or Deleted batches older than `older_than_days` whose jobs
are all Completed or Deleted), `remove_unpublished_batch` (bid: a batch a staging began but never
queued a job of, no staging having written to it for 30 minutes).

Every move is checked against the job/batch state machine and written in one transaction with
its queue and batch entries; a job locked by a worker is not moved. The task returns (and logs)
exactly which nodes changed, before and after.

**Recovery**: a refused action fails at once naming the node and both states; nothing was
written. ZooKeeper trouble is retried; an action that already took effect reports nothing left
to change (a retried requeue may instead report the job is no longer Failed).
""",
) as merritt_queue_admin:
    MerrittQueueAdminOperator(
        task_id="run_admin_action",
        action="{{ params.action }}",
        target="{{ params.target }}",
        message="{{ params.message }}",
        older_than_days="{{ params.older_than_days }}",
        outlets=[MERRITT_QUEUE],
    )
