"""APTrust registry batch jobs: monthly spot-test restores, restore digests, bulk deletion with approval, restore
requests, daily alerts.

The registry is PostgreSQL (`aptrust_registry`), the workers' queue a Kafka topic per
WorkItem action (`kafka_producer`), mail goes through `smtp_default`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronTriggerTimetable, Param

from include.aptrust.alerts import DEFAULT_REGISTRY_URL
from include.aptrust.limits import (
    MAX_ADDRESS_LENGTH,
    MAX_FREQUENCY_DAYS,
    MAX_IDENTIFIER_LENGTH,
    MAX_IDENTIFIERS,
    MAX_INSTITUTION_LENGTH,
)
from include.common.eastern_time import EASTERN_TIMEZONE
from preservation_pipelines.aptrust.notifiers.deletion_request import DeletionRequestNotifier
from preservation_pipelines.aptrust.operators.alerts import (
    RecordFailedFixityAlertsOperator,
    RecordStalledWorkItemAlertsOperator,
    SendAlertsOperator,
)
from preservation_pipelines.aptrust.operators.approval import DeletionApprovalOperator
from preservation_pipelines.aptrust.operators.base import PROBLEMS_KEY
from preservation_pipelines.aptrust.operators.deletion import (
    CreateDeleteWorkItemsOperator,
    ValidateDeletionListOperator,
)
from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator
from preservation_pipelines.aptrust.operators.restore_request import (
    CreateRestoreWorkItemsOperator,
    ValidateRestorationListOperator,
)
from preservation_pipelines.aptrust.operators.spot_test import CreateSpotTestRestoresOperator
from preservation_pipelines.aptrust.operators.work_items import QueueWorkItemsOperator
from preservation_pipelines.common.assets import (
    DELETION_QUEUE,
    REGISTRY_ALERTS,
    REGISTRY_WORK_ITEMS,
    RESTORE_QUEUES,
)
from preservation_pipelines.common.notifiers.failure import TaskFailureNotifier
from preservation_pipelines.common.operators.run_summary import RunSummaryOperator

APPROVAL_TIMEOUT = timedelta(days=3)
DEFAULT_ARGS = {
    "owner": "aptrust-registry",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(minutes=30),
    "on_failure_callback": TaskFailureNotifier(recipients_variable="aptrust_alert_to"),
}
TAGS = ["aptrust", "registry", "postgres"]


def requester_param(description: str) -> Param:
    return Param(
        "",
        type="string",
        format="idn-email",
        maxLength=MAX_ADDRESS_LENGTH,
        title="Requester (registry user's email)",
        description=description,
    )


def identifiers_param(title: str, whose: str) -> Param:
    return Param(
        [],
        type="array",
        items={"type": "string", "minLength": 1, "maxLength": MAX_IDENTIFIER_LENGTH},
        minItems=1,
        maxItems=MAX_IDENTIFIERS,
        title=title,
        description=f"Object (test.edu/bag) and file (test.edu/bag/data/file) identifiers{whose}, one per line "
        f"(at most {MAX_IDENTIFIERS})",
    )


with DAG(
    dag_id="aptrust_spot_test_restore",
    schedule=CronTriggerTimetable("0 6 1 * *", timezone=EASTERN_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "kafka", "spot-test"],
    doc_md=f"""
### APTrust monthly spot-test restore
For every institution with spot tests on (`spot_restore_frequency` > 0), restores one
object chosen at random so the depositor can check that a complete, correct bag comes
back. The object is active, has a size > 0, a successful ingest, no successful object
restore in the last six months (or the institution's frequency, if longer) and no
pending WorkItem on it or its files; under 20 GB if any such object exists, else the
smallest eligible. The random choice is reproducible: seeded from the run id and the
institution.

**Runs** 06:00 {EASTERN_TIMEZONE} on the 1st of each month. **Touches** `aptrust_registry`
(new `Restore Object`/`Glacier Restore` WorkItems, `spot_test_restores`,
`institutions.last_spot_restore_work_item_id`) and `kafka_producer` (topics
`restore_object`, `restore_glacier`).

**Steps**: `create_spot_tests` commits each WorkItem un-queued together with its
`spot_test_restores` row (primary key institution + month: the database allows one spot
test per institution per month); `queue_spot_tests` publishes the WorkItem ids and
sets `queued_at` only for messages the broker acknowledged; `run_summary` lists what
was created, what existed already and the institutions with no eligible object. An
institution whose registry data cannot be used (a `spot_restore_frequency` outside
1..{MAX_FREQUENCY_DAYS} days) is skipped, the others go on, and `run_summary` then fails
naming it and why (no retry): fix the registry and clear `create_spot_tests`.

**Recovery**: clear or retry any task: an institution that has its spot test for the
month is skipped, and a WorkItem with `queued_at` set is never published again. If the
broker was down, the WorkItems stay un-queued and the retry queues them. A backfill
creates the missed months' spot tests, at most one per institution and month.
""",
) as aptrust_spot_test_restore:
    create_spot_tests = CreateSpotTestRestoresOperator(task_id="create_spot_tests", outlets=[REGISTRY_WORK_ITEMS])
    queue_spot_tests = QueueWorkItemsOperator(
        task_id="queue_spot_tests",
        work_item_ids="{{ ti.xcom_pull(task_ids='create_spot_tests')['work_item_ids'] }}",
        outlets=RESTORE_QUEUES,
    )
    run_summary = RunSummaryOperator(
        task_id="run_summary",
        steps={
            "spot_tests": "create_spot_tests",
            "queue": "queue_spot_tests",
            "refused_institutions": ("create_spot_tests", PROBLEMS_KEY),
        },
        problems=("refused_institutions",),
    )
    create_spot_tests >> queue_spot_tests >> run_summary


with DAG(
    dag_id="aptrust_restore_notifications",
    # hourly, except 01:15 and 02:15 local (DST repeats or skips them): 03:15 catches up
    schedule=CronTriggerTimetable("15 0,3-23 * * *", timezone=EASTERN_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "smtp", "restore"],
    doc_md=f"""
### APTrust restore notification digests
One registry alert (`Restoration Completed`) per institution listing every restore
(`Restore Object`, `Restore File`, `Glacier Restore`) that succeeded and is not linked to
such an alert yet, grouped by requester, each with where to fetch it (what follows
` restored to ` in the WorkItem's note); spot-test restores are labelled (subject
`Restoration Spot Test Completed` if every item is one). Recipients: the requesters that are
active registry users and the institution's active institutional admins
(`system@aptrust.org` is nobody's inbox); a requester with no registry user is listed in
the run summary. Each recipient gets their own message.

**Runs** hourly at :15 {EASTERN_TIMEZONE} (not 01:15/02:15). **Touches** `aptrust_registry`
(writes `alerts`, `alerts_users`, `alerts_work_items`, `dag_alerts`,
`dag_alert_delivery_errors`; reads `work_items`, `users`, `institutions`) and
`smtp_default`. Restores that succeeded more than 7 days ago and were never notified
(history before this DAG) are left alone. An item the registry already linked to its own
`Restoration Completed` alert counts as notified.

**Guarantee: at-least-once delivery, exactly-once record.** `record_digests` records the
alerts with their recipients and links in one transaction (an outbox), so no item is in two
digests and a crash never loses one. `send_digests` sends every recipient of this DAG's
recorded alerts not sent yet and then sets its `sent_at`; a crash between the SMTP
server's acceptance and `sent_at` resends that one message with the same Message-ID.
A refused recipient goes to `dag_alert_delivery_errors`, is not retried, and makes
`run_summary` fail (no retry) naming it; the others still go.

**Recovery**: clear or retry any task. Digests recorded by a failed run are sent by the
retry or by the next hourly run; nothing is recorded twice.
""",
) as aptrust_restore_notifications:
    record_digests = RecordRestoreDigestsOperator(
        task_id="record_digests", inlets=[REGISTRY_WORK_ITEMS], outlets=[REGISTRY_ALERTS]
    )
    send_digests = SendAlertsOperator(task_id="send_digests", scope="dag", inlets=[REGISTRY_ALERTS])
    run_summary = RunSummaryOperator(
        task_id="run_summary",
        steps={
            "digests": "record_digests",
            "mail": "send_digests",
            "delivery_errors": ("send_digests", PROBLEMS_KEY),
        },
        problems=("delivery_errors",),
    )
    record_digests >> send_digests >> run_summary


with DAG(
    dag_id="aptrust_bulk_delete",
    schedule=None,  # manual only
    catchup=False,
    max_active_runs=4,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "kafka", "smtp", "deletion", "approval"],
    params={
        "institution": Param(
            "",
            type="string",
            minLength=3,
            maxLength=MAX_INSTITUTION_LENGTH,
            title="Institution",
            description="Institution identifier, e.g. test.edu",
        ),
        "requester": requester_param("Email of the person asking: an active registry user of the institution"),
        "identifiers": identifiers_param("Identifiers to delete", ""),
    },
    doc_md=f"""
### APTrust bulk deletion with approval
Deletes a list of objects and files of one institution, after a second person
approves: the registry's request-then-approve deletion, for many items at once.

**Trigger** with params `institution`, `requester` (the email of an active registry user
of the institution) and `identifiers` (objects and/or files, at most {MAX_IDENTIFIERS}).
**Touches** `aptrust_registry` (`deletion_requests` with `deletion_requests_intellectual_objects`
and `deletion_requests_generic_files`, `Delete` WorkItems, the alerts `Deletion Requested`,
`Deletion Confirmed`, `Deletion Cancelled`, `dag_deletion_requests`, `dag_alerts`),
`kafka_producer` (topic `delete_item`) and `smtp_default`.

**Steps**: `validate_deletion_list` judges the params and every item first; if the
requester is not an active registry user of the institution, or an item is not found,
already deleted, has pending WorkItems, or the list mixes institutions, the run fails at
once (no retry) naming each and why, and nothing is created. `approve_deletion` records a
`Deletion Requested` alert to the institution's active admins (never the requester) with a
link and waits (Required Actions in the UI); only an active registry user of the
institution other than the requester may approve. The approving Airflow user is mapped to
a registry user by email (the Airflow user name must be the person's registry email); an
approval by the requester's registry user (under any spelling), by whoever triggered the
run, or by a user who is no active registry user of the institution fails the run, nothing
created. Reject, or no answer within {APPROVAL_TIMEOUT.days} days, records the request as
cancelled (`cancelled_by_id`, `cancelled_at`) and sends a `Deletion Cancelled` alert to the
requester and the admins; no WorkItem is created. `create_delete_work_items` re-checks both
people and the items under row locks and records, in one transaction, the confirmed
`deletion_requests` row (requester and approver as registry user ids) with its objects and
files, one `Delete` WorkItem per item (`deletion_request_id`; `user` = requester,
`inst_approver` = approver, their registry emails) and the `Deletion Confirmed` alert;
`queue_deletions` publishes them to `delete_item`; `send_confirmation` mails the alert to
the requester and the institution's admins, one message each.

**Recovery**: clear or retry any task after the approval: the run's deletion request is
recorded once (`dag_deletion_requests`, keyed by the run), a queued WorkItem is never
published again, and a recipient already sent to is not sent again. A rejected or
timed-out request is re-submitted by triggering anew.
""",
) as aptrust_bulk_delete:
    validate_deletion_list = ValidateDeletionListOperator(
        task_id="validate_deletion_list",
        institution="{{ params.institution }}",
        requester="{{ params.requester }}",
        identifiers="{{ params.identifiers }}",
    )
    approve_deletion = DeletionApprovalOperator(
        task_id="approve_deletion",
        institution="{{ params.institution }}",
        requester="{{ params.requester }}",
        identifiers="{{ params.identifiers }}",
        subject="Delete {{ params.identifiers | length }} item(s) of {{ params.institution }}?",
        body=(
            "**{{ params.requester }}** asks to delete these items of **{{ params.institution }}**. "
            "Only an active registry user of {{ params.institution }} other than the requester may approve, "
            "signed in under their registry email, and not whoever triggered this request; an approval by "
            "anyone else (an Airflow user with no active registry user among them) fails the request and "
            "nothing is deleted. Reject cancels it.\n\n"
            "{% for identifier in params.identifiers %}- `{{ identifier }}`\n{% endfor %}"
        ),
        response_timeout=APPROVAL_TIMEOUT,
        execution_timeout=timedelta(minutes=5),
        notifiers=[
            DeletionRequestNotifier(
                institution="{{ params.institution }}",
                requester="{{ params.requester }}",
                identifiers="{{ params.identifiers }}",
            )
        ],
    )
    create_delete_work_items = CreateDeleteWorkItemsOperator(
        task_id="create_delete_work_items",
        institution="{{ params.institution }}",
        requester="{{ params.requester }}",
        identifiers="{{ params.identifiers }}",
        approval=approve_deletion.output,
        outlets=[REGISTRY_WORK_ITEMS, REGISTRY_ALERTS],
    )
    queue_deletions = QueueWorkItemsOperator(
        task_id="queue_deletions",
        work_item_ids="{{ ti.xcom_pull(task_ids='create_delete_work_items')['work_item_ids'] }}",
        outlets=[DELETION_QUEUE],
    )
    send_confirmation = SendAlertsOperator(task_id="send_confirmation", scope="run", inlets=[REGISTRY_ALERTS])
    run_summary = RunSummaryOperator(
        task_id="run_summary",
        steps={
            "request": "validate_deletion_list",
            "approval": ("approve_deletion", "decision"),
            "deletions": "create_delete_work_items",
            "confirmation": "send_confirmation",
            "delivery_errors": ("send_confirmation", PROBLEMS_KEY),
        },
        problems=("delivery_errors",),
        trigger_rule="none_failed",  # a rejected or timed-out approval skips the rest: still summarised
    )
    validate_deletion_list >> approve_deletion >> create_delete_work_items >> queue_deletions >> send_confirmation
    send_confirmation >> run_summary


with DAG(
    dag_id="aptrust_restore_request",
    schedule=None,  # manual only
    catchup=False,
    max_active_runs=4,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "kafka", "restore"],
    params={
        "requester": requester_param(
            "Email of the person asking: an active registry user; institutional users and admins "
            "restore their own institution's items, APTrust admins any institution's"
        ),
        "identifiers": identifiers_param("Identifiers to restore", " of one institution"),
    },
    doc_md=f"""
### APTrust object and file restoration requests
The registry's Restore button for many objects and files at once: one restore WorkItem
per item, queued for the preservation workers. No mail: the finished restores reach the
depositor through `aptrust_restore_notifications`.

**Trigger** with params `requester` (the email of an active registry user) and
`identifiers` (objects and/or files of one institution, at most {MAX_IDENTIFIERS}).
**Touches** `aptrust_registry` (new `Restore Object`/`Restore File`/`Glacier Restore`
WorkItems, `dag_restore_requests`) and `kafka_producer` (topics `restore_object`,
`restore_file`, `restore_glacier`).

**Steps**: `validate_restoration_list` judges the requester and every item first; if
the requester is no active registry user, or an item is not found, deleted (a file: or
its object), has pending work (on the object, any of its files, or an unlinked
re-ingest of its bag; for a file, its parent object's), belongs to an institution the
requester may not restore, is a file whose object is in the same request, has no ingest
record, or the list mixes institutions, the run fails at once (no retry) naming each
line and why, and nothing is created. `create_restore_work_items` judges the items again
under row locks and creates, in one transaction, one WorkItem per item (action by the
object's storage option; name, etag, bucket and bag date from the object's last
successful ingest) and records them as the run's in `dag_restore_requests`;
`queue_restorations` publishes each id to its action's topic and sets `queued_at` only
for messages the broker acknowledged; `run_summary` lists what was created and queued.

**Recovery**: clear or retry any task: a run creates its WorkItems once (keyed by run
and identifier; a retry finds them and queues them), and a queued WorkItem is never
published again. If the broker was down, the WorkItems stay un-queued and the retry
queues them. To restore again, trigger a new run.
""",
) as aptrust_restore_request:
    validate_restoration_list = ValidateRestorationListOperator(
        task_id="validate_restoration_list",
        requester="{{ params.requester }}",
        identifiers="{{ params.identifiers }}",
    )
    create_restore_work_items = CreateRestoreWorkItemsOperator(
        task_id="create_restore_work_items",
        requester="{{ params.requester }}",
        identifiers="{{ params.identifiers }}",
        outlets=[REGISTRY_WORK_ITEMS],
    )
    queue_restorations = QueueWorkItemsOperator(
        task_id="queue_restorations",
        work_item_ids="{{ ti.xcom_pull(task_ids='create_restore_work_items')['work_item_ids'] }}",
        outlets=RESTORE_QUEUES,
    )
    run_summary = RunSummaryOperator(
        task_id="run_summary",
        steps={
            "request": "validate_restoration_list",
            "restorations": "create_restore_work_items",
            "queue": "queue_restorations",
        },
    )
    validate_restoration_list >> create_restore_work_items >> queue_restorations >> run_summary


with DAG(
    dag_id="aptrust_alerts",
    schedule=CronTriggerTimetable("0 7 * * *", timezone=EASTERN_TIMEZONE),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "smtp", "alerts"],
    doc_md=f"""
### APTrust registry alerts: failed fixity checks, stalled WorkItems
Writes the registry's own alerts (`alerts`, one `alerts_users` row per recipient, the
events or WorkItems linked) as the registry writes them, and mails each recipient their
own message (Subject = the alert's subject, body = its text).

- **Failed Fixity Check**: the failed fixity checks (`premis_events`, `fixity check`,
  outcome `Failed` or Pharos's `Failure`) of the run's UTC day, the day before the run's
  logical date. One alert per institution with new events, to its active institutional
  admins (an institution with none gets its alert with no recipients, listed under
  `no_recipients`), and one APTrust summary of every event new to APTrust, to every active
  user of `aptrust.org` but `system@aptrust.org` (none: no summary, the run summary says so).
- **Stalled Work Items**: WorkItems `Pending` or `Started` and queued more than 12 hours
  before the task runs; same audiences. An item is alerted once per stall: again only
  after it was requeued and stalled again.

**Runs** daily 07:00 {EASTERN_TIMEZONE}. **Touches** `aptrust_registry` (writes `alerts`,
`alerts_users`, `alerts_work_items`, `alerts_premis_events`, `dag_alerts`,
`dag_alert_delivery_errors`; reads `premis_events`, `work_items`, `users`,
`institutions`) and `smtp_default`. Links point to Variable `aptrust_registry_url`
(default {DEFAULT_REGISTRY_URL}).

**Guarantees**: each record task writes all its alerts with their recipients, links and
`dag_alerts` rows in one transaction under an advisory lock per alert type; an event or
item already attached to an alert of the same audience (by an earlier run or the
registry's own endpoint) is never attached again. `send_alerts` sends every recipient of
a recorded alert not sent yet and then sets its `sent_at`: at-least-once delivery,
exactly-once record; a crash between the server's acceptance and `sent_at` resends with
the same Message-ID. A refused recipient goes to `dag_alert_delivery_errors`, is not
retried, and makes `run_summary` fail (no retry) naming it; the others still go.
`send_alerts` runs even when one record task failed, so one alert type's trouble does
not hold back the other's mail.

**Recovery**: clear or retry any task: nothing is recorded or attached twice, and only
unsent recipients are sent. A backfill (`airflow backfill create --dag-id aptrust_alerts
--from-date ... --to-date ...`) records the missed days' fixity alerts; stalled items are
judged at the time the task runs.
""",
) as aptrust_alerts:
    registry_url = f"{{{{ var.value.get('aptrust_registry_url', '{DEFAULT_REGISTRY_URL}') }}}}"
    record_failed_fixity_alerts = RecordFailedFixityAlertsOperator(
        task_id="record_failed_fixity_alerts", registry_url=registry_url, outlets=[REGISTRY_ALERTS]
    )
    record_stalled_work_item_alerts = RecordStalledWorkItemAlertsOperator(
        task_id="record_stalled_work_item_alerts",
        registry_url=registry_url,
        inlets=[REGISTRY_WORK_ITEMS],
        outlets=[REGISTRY_ALERTS],
    )
    send_alerts = SendAlertsOperator(
        task_id="send_alerts",
        inlets=[REGISTRY_ALERTS],
        trigger_rule="all_done",  # one alert type failing to record does not hold back the other's mail
    )
    run_summary = RunSummaryOperator(
        task_id="run_summary",
        steps={
            "failed_fixity": "record_failed_fixity_alerts",
            "stalled_work_items": "record_stalled_work_item_alerts",
            "mail": "send_alerts",
            "delivery_errors": ("send_alerts", PROBLEMS_KEY),
        },
        problems=("delivery_errors",),
    )
    [record_failed_fixity_alerts, record_stalled_work_item_alerts] >> send_alerts >> run_summary
