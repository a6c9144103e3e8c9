"""One function per panel of the Pipelines view, each reading its system through the hooks the DAGs use.

Read-only: nothing here writes to a system. Each function returns a :class:`PanelResult`;
the app runs them side by side and turns an exception or a timeout into that panel's error.
Links are relative to the view's pages (``<base>/pipelines/<page>``): ``../`` is the UI's root.
"""

from __future__ import annotations

import json
import posixpath
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from airflow.sdk import Variable

from include.aptrust import overview_sql
from include.aptrust.spot_test import spot_test_month
from include.aspace2alma.dropbox import (
    CONSUMED_REPORT_NAME,
    DROPBOX_FOLDER,
    DROPBOX_FOLDER_VARIABLE,
    REPORT_NAME,
    checked_folder,
)
from include.aspace2alma.overview import report_arrival
from include.aspace2alma.params import REPORT_FRESH_AFTER
from include.common.eastern_time import EASTERN, eastern_day, eastern_instant, eastern_now
from include.merritt.layout import (
    COLLECTION_LOCKS,
    decode_json,
    decode_text,
    jid_of_queue_entry,
    job_path,
    job_state_folder,
)
from include.merritt.overview import admin_conf, batch_state_counts, failed_job_actions
from include.merritt.states import BatchState, JobState
from include.postingest.config import QUEUE_CONFIG_VARIABLE, parse_queue_config
from include.postingest.limits import retention_from_attribute
from include.postingest.messages import utc_now
from include.postingest.names import (
    CHECKPOINT_TABLE,
    CHECKPOINT_TABLE_VARIABLE,
    STALE_INDEX,
    STATE_TABLE,
    STATE_TABLE_VARIABLE,
    TABLE_NAME_PATTERN,
    checked_name,
)
from include.postingest.resender import stale_cutoff
from preservation_pipelines.ui.model import Code, Link, PanelResult, Table

UI = "../"
MAX_ROWS = 200  # longer lists are cut, saying how many there were
MERRITT_ADMIN_DAG = "merritt_queue_admin"
BULK_DELETE_DAG = "aptrust_bulk_delete"
BULK_DELETE_APPROVAL_TASK = "approve_deletion"
EXPORT_DAG = "aspace2alma"
EXPORT_SUMMARY_TASK = "run_summary"


def eastern_text(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment.astimezone(EASTERN):%Y-%m-%d %H:%M %Z}"


def dag_link(dag_id: str, text: str | None = None, run_id: str | None = None, tab: str = "") -> Link:
    path = f"dags/{quote(dag_id)}" + (f"/runs/{quote(run_id, safe='')}" if run_id else "") + (f"/{tab}" if tab else "")
    return Link(text or dag_id, UI + path)


def admin_link(action: str, target: str = "") -> list:
    """A link opening ``merritt_queue_admin`` (Trigger opens its params form) and the conf to give it.

    Airflow 3.3's UI has no trigger URL that pre-fills the form (its only URL-prefilled form is the
    human-in-the-loop one), so the conf rides along as ``?conf=`` for a UI that reads it and is
    shown to copy into the form."""
    conf = admin_conf(action, target)
    text = json.dumps(conf)
    return [Link(action, f"{UI}dags/{MERRITT_ADMIN_DAG}?{urlencode({'conf': text})}"), Code(text)]


def cut(rows: list, total: int, table: Table) -> None:
    table.rows = rows[:MAX_ROWS]
    if total > MAX_ROWS:
        table.note = f"first {MAX_ROWS} of {total}"


# -- Merritt ---------------------------------------------------------------------------------
def merritt(conn_id: str | None = None) -> PanelResult:
    from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperHook
    from preservation_pipelines.merritt.queue.batches import Batches
    from preservation_pipelines.merritt.queue.zookeeper import QueueNodes

    hook = MerrittZooKeeperHook(conn_id or MerrittZooKeeperHook.default_conn_name)
    try:
        nodes = QueueNodes(hook.get_conn())
        folders = {state: job_state_folder(state.directory) for state in JobState}
        queued = nodes.children_many(list(folders.values()))
        batches = Batches(nodes)
        statuses = batches.batch_statuses(batches.batch_ids())
        held = sorted(nodes.children(COLLECTION_LOCKS))
        frozen = nodes.ingest_frozen()
        # newest first: job ids are sequential, and the latest failures are the ones to act on
        failed_jids = sorted(
            (jid_of_queue_entry(name) for name in queued[folders[JobState.FAILED]] or []), reverse=True
        )
        shown = failed_jids[:MAX_ROWS]
        reads = nodes.get_many([job_path(jid, child) for jid in shown for child in ("status", "bid")])
    finally:
        hook.close()

    result = PanelResult()
    result.facts.append(
        (
            "Ingest",
            "frozen (/locks/queue/ingest exists): workers and reporters skip their polls" if frozen else "running",
        )
    )
    if frozen:
        result.facts.append(("Thaw", admin_link("thaw_queue")[0]))
    result.tables.append(
        Table(
            "Jobs per state",
            ["state", "jobs"],
            [[state.value, len(queued[folder] or [])] for state, folder in folders.items()],
        )
    )
    batch_rows = []
    for state, count in batch_state_counts(statuses).items():
        batch_rows.append([state, count])
    result.tables.append(Table("Batches per state", ["state", "batches"], batch_rows, empty="no batches"))
    result.tables.append(
        Table(
            "Held collections",
            ["profile", "release", "conf"],
            [[profile, *admin_link("release_collection", profile)] for profile in held],
            empty="no collection is held",
        )
    )
    failed_rows = []
    for jid in shown:
        found = reads[job_path(jid, "status")]
        status = decode_json(found[0], job_path(jid, "status")) if found else {}
        bid_node = reads[job_path(jid, "bid")]
        actions = failed_job_actions(status)
        links = [cell for action in actions for cell in admin_link(action, jid)]
        failed_rows.append(
            [
                jid,
                decode_text(bid_node[0]) if bid_node else "",
                status.get("message", "(no status)"),
                status.get("last_modified", ""),
                status.get("retry_count", 0),
                *links[:2],
                *(links[2:4] if len(links) > 2 else ["", ""]),
            ]
        )
    failed = Table(
        "Failed jobs",
        ["jid", "batch", "message", "last modified", "retries", "action", "conf", "action", "conf"],
        empty="no failed job",
    )
    cut(failed_rows, len(failed_jids), failed)
    result.tables.append(failed)
    failed_batches = sorted(
        bid
        for bid, status in statuses.items()
        if isinstance(status, dict) and status.get("status") == BatchState.FAILED
    )
    result.tables.append(
        Table(
            "Failed batches",
            ["bid", "message", "action", "conf", "action", "conf"],
            [
                [
                    bid,
                    statuses[bid].get("message", ""),
                    *admin_link("update_reporting", bid),
                    *admin_link("delete_batch", bid),
                ]
                for bid in failed_batches[:MAX_ROWS]
            ],
            empty="no failed batch",
        )
    )
    return result


# -- postingest --------------------------------------------------------------------------------
def _count(table, **query) -> int:
    """Items a Query matches, counted by DynamoDB (``Select=COUNT``), page after page."""
    total = 0
    while True:
        page = table.query(Select="COUNT", **query)
        total += page.get("Count", 0)
        if "LastEvaluatedKey" not in page:
            return total
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _table_variable(variable: str, default: str) -> str:
    return checked_name(Variable.get(variable, default=default), TABLE_NAME_PATTERN, f"Variable {variable}")


def postingest(
    conn_id: str | None = None,
    *,
    table_name: str | None = None,
    checkpoint_table: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> PanelResult:
    """The tables are the DAGs': their Variables' values, ``names``' defaults while unset."""
    from botocore.exceptions import ClientError

    from preservation_pipelines.postingest.hooks.dynamodb import PostingestStateHook
    from preservation_pipelines.postingest.hooks.sqs import ConfirmerQueueHook

    config = parse_queue_config(Variable.get(QUEUE_CONFIG_VARIABLE))
    table_name = table_name or _table_variable(STATE_TABLE_VARIABLE, STATE_TABLE)
    checkpoint_table = checkpoint_table or _table_variable(CHECKPOINT_TABLE_VARIABLE, CHECKPOINT_TABLE)
    aws_conn_id = conn_id or PostingestStateHook.default_conn_name
    state = PostingestStateHook(aws_conn_id=aws_conn_id, table_name=table_name, checkpoint_table=checkpoint_table)
    queues = ConfirmerQueueHook(aws_conn_id=aws_conn_id)
    now = clock()
    result = PanelResult()
    result.facts.append(("State table", table_name))
    rows = []
    for queue in config:
        retention = retention_from_attribute(queues.queue_attributes(queue.url).get("MessageRetentionPeriod"))
        cutoff = stale_cutoff(now, retention)
        on_queue = {
            "IndexName": STALE_INDEX,
            "ExpressionAttributeNames": {"#queue": "queue"},
            "ExpressionAttributeValues": {":queue": queue.alias},
            "KeyConditionExpression": "#queue = :queue",
        }
        waiting = _count(state.table, **on_queue)
        stale = _count(
            state.table,
            **{
                **on_queue,
                "KeyConditionExpression": "#queue = :queue AND lastQueued < :cutoff",
                "ExpressionAttributeValues": {":queue": queue.alias, ":cutoff": cutoff},
            },
        )
        rows.append([queue.alias, waiting, stale, f"lastQueued before {cutoff} (retention {retention})"])
    result.tables.append(
        Table(
            "Items per queue", ["queue", "items", "stale", "stale means"], rows, note="stale: what the resender resends"
        )
    )
    table = Table("Parked records", ["asset", "batch", "event", "parked at", "reason"], empty="no parked record")
    try:
        parked = sorted(state.parked_records(), key=lambda row: str(row.get("parkedAt", "")))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        parked = []  # postingest_state_change creates the checkpoint table on its first run
        table.empty = f"none: the checkpoint table {checkpoint_table} does not exist yet"
    cut(
        [
            [row.get("assetId"), row.get("batchId"), row.get("eventName"), row.get("parkedAt"), row.get("error")]
            for row in parked
        ],
        len(parked),
        table,
    )
    result.tables.append(table)
    return result


# -- APTrust -----------------------------------------------------------------------------------
def aptrust_registry(conn_id: str | None = None, *, clock: Callable[[], datetime] = eastern_now) -> PanelResult:
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

    registry = AptrustRegistryHook(conn_id or AptrustRegistryHook.default_conn_name)
    month = spot_test_month(clock())
    spot_tests = registry.query(overview_sql.SPOT_TESTS_OF_MONTH, {"month": month})
    mail = registry.query(overview_sql.MAIL_NOT_SENT, {"limit": MAX_ROWS + 1})
    result = PanelResult()
    result.tables.append(
        Table(
            f"Spot tests of {month:%B %Y}",
            ["institution", "work item", "action", "stage", "status", "created"],
            [
                [
                    row["identifier"],
                    row["work_item_id"] or "none yet",
                    row["action"],
                    row["stage"],
                    row["status"],
                    eastern_text(row["created_at"]),
                ]
                for row in spot_tests
            ],
            empty="no institution takes spot tests",
        )
    )
    table = Table(
        "Mail not sent",
        ["alert", "type", "institution", "subject", "to", "recorded", "state"],
        empty="every recorded alert was mailed",
    )
    cut(
        [
            [
                row["id"],
                row["type"],
                row["institution"],
                row["subject"],
                row["recipient"],
                eastern_text(row["created_at"]),
                f"failed: {row['error']}" if row["error"] else "waiting to be sent",
            ]
            for row in mail
        ],
        len(mail),
        table,
    )
    if len(mail) > MAX_ROWS:
        table.note = f"first {MAX_ROWS}"
    result.tables.append(table)
    return result


def aptrust_approvals() -> PanelResult:
    """Bulk deletions waiting for a second person: human-in-the-loop requests not answered yet (metadata DB)."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    # Airflow 3.3 shows the approval task as awaiting_input while it waits; deferred counts as waiting too
    waiting = (TaskInstanceState.AWAITING_INPUT, TaskInstanceState.DEFERRED)
    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.run_id, HITLDetail.subject, HITLDetail.created_at)
            .join(TaskInstance, HITLDetail.ti_id == TaskInstance.id)
            .where(
                TaskInstance.dag_id == BULK_DELETE_DAG,
                TaskInstance.task_id == BULK_DELETE_APPROVAL_TASK,
                TaskInstance.state.in_(waiting),
                HITLDetail.responded_at.is_(None),
            )
            .order_by(HITLDetail.created_at)
        ).all()
    result = PanelResult()
    result.facts.append(("All waiting requests", Link("Required actions", UI + "required_actions")))
    result.tables.append(
        Table(
            "Waiting for approval",
            ["run", "request", "since", "approve or reject"],
            [
                [
                    dag_link(BULK_DELETE_DAG, run_id, run_id),
                    subject,
                    eastern_text(created_at),
                    dag_link(BULK_DELETE_DAG, "Required actions", run_id, "required_actions"),
                ]
                for run_id, subject, created_at in rows
            ],  # fmt: skip
            empty="no deletion is waiting",
        )
    )
    return result


# -- aspace2alma -------------------------------------------------------------------------------
def aspace2alma_dropbox(
    conn_id: str | None = None, *, folder: str | None = None, clock: Callable[[], datetime] = eastern_now
) -> PanelResult:
    from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook

    folder = checked_folder(folder or Variable.get(DROPBOX_FOLDER_VARIABLE, default=DROPBOX_FOLDER))

    hook = SFTPDropBoxHook(conn_id or SFTPDropBoxHook.default_conn_name)
    with hook.sftp.get_managed_conn() as sftp:
        entries = [entry for entry in sftp.listdir_attr(folder) if stat.S_ISREG(entry.st_mode or 0)]
    modified = {entry.filename: datetime.fromtimestamp(entry.st_mtime, tz=UTC) for entry in entries}
    fresh_after = eastern_instant(eastern_day(clock()), REPORT_FRESH_AFTER.default)
    _, how = report_arrival(modified.get(REPORT_NAME), modified.get(CONSUMED_REPORT_NAME), fresh_after)
    result = PanelResult()
    result.facts.append((f"Today's report ({REPORT_NAME}, due after {eastern_text(fresh_after)})", how))
    result.facts.append(("Folder", f"{folder} on {hook.sftp_conn_id}"))
    result.tables.append(
        Table(
            "Files",
            ["file", "bytes", "modified"],
            [
                [posixpath.join(folder, entry.filename), entry.st_size, eastern_text(modified[entry.filename])]
                for entry in sorted(entries, key=lambda entry: entry.filename)
            ],
            empty="the folder is empty",
        )
    )
    return result


def aspace2alma_last_export() -> PanelResult:
    """The newest ``aspace2alma`` run and its ``run_summary`` XCom (metadata DB)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    result = PanelResult()
    with create_session() as session:
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == EXPORT_DAG).order_by(DagRun.run_after.desc()).limit(1)
        ).first()
        if run is None:
            result.facts.append(("Last run", "none yet"))
            return result
        xcom = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=EXPORT_DAG, task_ids=EXPORT_SUMMARY_TASK, key="return_value")
        ).first()
        summary = XComModel.deserialize_value(xcom) if xcom is not None else None
        result.facts += [
            ("Last run", dag_link(EXPORT_DAG, run.run_id, run.run_id)),
            ("State", str(run.state)),
            (
                "Ran",
                f"{eastern_text(run.start_date)} to {eastern_text(run.end_date)}" if run.start_date else "not started",
            ),
        ]
    if not isinstance(summary, dict):
        result.facts.append(
            ("Run summary", "none (run_summary has not run)" if summary is None else Code(json.dumps(summary)))
        )
        return result
    result.tables.append(
        Table(
            "Run summary",
            ["field", "value"],
            [
                [key, Code(json.dumps(value, default=str)) if isinstance(value, (dict, list)) else str(value)]
                for key, value in summary.items()
            ],
        )
    )
    return result
