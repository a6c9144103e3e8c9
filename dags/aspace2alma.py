"""aspace2alma, its skip-day cleanup and its deadline check: ArchivesSpace → Alma through the SFTP drop box.

The three schedules come from one weekday definition (``include.aspace2alma.schedule``):
the cleanup runs on exactly the weekdays the export does not, the deadline check on the
export days.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronTriggerTimetable, Param

from include.aspace2alma.dropbox import (
    CONSUMED_REPORT_NAME,
    OUTPUT_NAME,
    PREVIOUS_OUTPUT_NAME,
    REPORT_NAME,
)
from include.aspace2alma.params import (
    CONCURRENCY,
    MAX_FAILED_RATIO,
    MIN_REPORT_RATIO,
    REPORT_CUTOFF,
    REPORT_FRESH_AFTER,
)
from include.aspace2alma.schedule import CLEANUP_SCHEDULE, DEADLINE_SCHEDULE, EXPORT_SCHEDULE, WeekdaySchedule
from include.common.eastern_time import EASTERN_TIMEZONE
from preservation_pipelines.aspace2alma.operators.dropbox import (
    ConsumeBarcodeReportOperator,
    RemoveStaleFileOperator,
    SFTPRotateOperator,
)
from preservation_pipelines.aspace2alma.operators.export import ArchivesSpaceToAlmaOperator
from preservation_pipelines.aspace2alma.operators.schedule import ExportDeadlineCheckOperator, SkipIfSupersededOperator
from preservation_pipelines.aspace2alma.sensors.sftp import SFTPFreshFileSensor
from preservation_pipelines.common.assets import BARCODE_REPORT, MARC_EXPORT
from preservation_pipelines.common.notifiers.failure import TaskFailureNotifier
from preservation_pipelines.common.operators.run_summary import RunSummaryOperator


def eastern_timetable(schedule: WeekdaySchedule) -> CronTriggerTimetable:
    # run_immediately: a DAG without runs yet starts with its latest past fire instant, not the next one.
    return CronTriggerTimetable(schedule.cron, timezone=EASTERN_TIMEZONE, run_immediately=True)


DEFAULT_ARGS = {
    "owner": "library-systems",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=3),
    "on_failure_callback": TaskFailureNotifier(recipients_variable="aspace2alma_alert_to"),
}
EXPORT_PARAMS = {
    REPORT_FRESH_AFTER.name: Param(
        REPORT_FRESH_AFTER.default, **REPORT_FRESH_AFTER.schema,
        title="Report fresh after (Eastern)", description="A report counts as that day's if modified at or after this Eastern time on the run's day",
    ),
    REPORT_CUTOFF.name: Param(
        REPORT_CUTOFF.default, **REPORT_CUTOFF.schema,
        title="Report cut-off (Eastern)", description="Stop waiting for the report at this Eastern time on the run's day (no export that day)",
    ),
    MIN_REPORT_RATIO.name: Param(
        MIN_REPORT_RATIO.default, **MIN_REPORT_RATIO.schema,
        title="Minimum report size ratio", description="Fail when the report holds fewer barcodes than this share of the previous good report",
    ),
    "accept_short_report": Param(
        False, type="boolean", title="Accept a short report", description="Override: accept a report that fails the size check (a real drop)"
    ),
    CONCURRENCY.name: Param(
        CONCURRENCY.default, **CONCURRENCY.schema, title="ArchivesSpace concurrency", description="Parallel ArchivesSpace requests of the export task"
    ),
    MAX_FAILED_RATIO.name: Param(
        MAX_FAILED_RATIO.default, **MAX_FAILED_RATIO.schema,
        title="Maximum failed share", description="Fail the export, nothing uploaded, when more than this share of the resources failed "
        "(ArchivesSpace errors, malformed or hostile data); records missing 099/008/041 do not count",
    ),
}  # fmt: skip

with DAG(
    dag_id="aspace2alma",
    schedule=eastern_timetable(EXPORT_SCHEDULE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=EXPORT_PARAMS,
    tags=["aspace2alma", "alma", "archivesspace", "sftp"],
    doc_md="""
### aspace2alma
Exports every collection-level resource of every ArchivesSpace repository as MARC-XML,
applies the Special Collections changes, adds a 949 item field per ReCAP top container
Alma does not know yet, and uploads one MARC21 slim `<collection>` to the Alma drop box
as `MARC_out.xml`, which Alma's import job reads at 11:00 Eastern.

**Runs** 05:30 America/New_York on Sun, Tue, Wed, Thu and Fri (never Mon: Alma is backed
up; never Sat: ASpace maintenance). **Touches** `aspace_default` (read only, pool
`aspace_api`) and `lib_sftp` (in the folder of Variable `aspace2alma_dropbox_folder`,
default `/alma/aspace`: `MARC_out.xml`, `MARC_out_old.xml`,
`sc_active_barcodes.csv`, `sc_active_barcodes_old.csv`). `aspace2alma_deadline_check` mails
an alert when the run is not done by 10:30 Eastern.

**Steps**: `check_superseded` skips the run when a newer run exists (the export is a full
snapshot; a backfill over N days exports once); `rotate_output` moves the previous
`MARC_out.xml` aside first, so a failed run leaves nothing for Alma to import twice;
`wait_for_report` defers until Alma's report is modified after `report_fresh_after` on the
run's day (fails at `report_cutoff`); `consume_report` renames it to
`sc_active_barcodes_old.csv` and checks it (header, not far smaller than the previous good
report: `min_report_ratio`, override `accept_short_report`); `export_to_alma` exports on
`concurrency` threads, streams the collection and uploads it under a temporary name,
renamed to `MARC_out.xml` only when complete; `run_summary` gathers what it returned (the
first 50 skipped resources with their reasons). Incomplete records are skipped quietly (the
catalogue's state); a resource that failed (ArchivesSpace errors, malformed or hostile
data) is skipped by name, the file keeps every good one, and `run_summary` then fails red
naming each failed resource. When more than `max_failed_ratio` (5%) of the resources
failed, `export_to_alma` fails at once without uploading and lists them. Bad params and malformed ArchivesSpace listings fail
at once, without retries.

**Recovery**: clear the failed task (or the whole run) on the same day: a consumed report
from that day is reused, an older one never. Clear `rotate_output` together with its
downstream tasks, since on its own it moves that day's finished file aside. A red
`run_summary` means the file went out without the resources it names: fix them in
ArchivesSpace, then clear `export_to_alma` (with downstream) the same day to re-export. A run that
fails anywhere leaves no `MARC_out.xml`. A short report that is real: trigger with
`{"accept_short_report": true}`. Backfills are safe (only the newest run exports).
""",
) as aspace2alma:
    check_superseded = SkipIfSupersededOperator(task_id="check_superseded", retries=1)
    rotate_output = SFTPRotateOperator(task_id="rotate_output", current=OUTPUT_NAME, previous=PREVIOUS_OUTPUT_NAME)
    wait_for_report = SFTPFreshFileSensor(
        task_id="wait_for_report",
        names=[REPORT_NAME, CONSUMED_REPORT_NAME],
        fresh_after="{{ params.report_fresh_after }}",
        cutoff="{{ params.report_cutoff }}",
        poke_interval=300,
        deferrable=True,
    )
    consume_report = ConsumeBarcodeReportOperator(
        task_id="consume_report",
        fresh_after="{{ params.report_fresh_after }}",
        min_ratio="{{ params.min_report_ratio }}",
        accept_short="{{ params.accept_short_report }}",
    )
    export_to_alma = ArchivesSpaceToAlmaOperator(
        task_id="export_to_alma",
        fresh_after="{{ params.report_fresh_after }}",
        concurrency="{{ params.concurrency }}",
        max_failed_ratio="{{ params.max_failed_ratio }}",
        pool="aspace_api",
        inlets=[BARCODE_REPORT],
        outlets=[MARC_EXPORT],
    )
    run_summary = RunSummaryOperator(task_id="run_summary", steps="export_to_alma", problems=("failed",))
    check_superseded >> rotate_output >> wait_for_report >> consume_report >> export_to_alma >> run_summary


with DAG(
    dag_id="aspace2alma_skip_day_cleanup",
    schedule=eastern_timetable(CLEANUP_SCHEDULE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["aspace2alma", "alma", "sftp"],
    doc_md="""
### aspace2alma skip-day cleanup
On the days `aspace2alma` does not run (Mon and Sat, 05:30 America/New_York: the exact
complement of its schedule), delete `MARC_out.xml` if it was written before that day
began (Eastern), so Alma's 11:00 import cannot take yesterday's file a second time.
A file written that day (an operator ran the export by hand) is left alone.

**Touches** `lib_sftp` only (the folder of Variable `aspace2alma_dropbox_folder`). **Recovery**: safe to clear, retry or backfill: the day is the
run's logical date in Eastern time, never "now".
""",
) as aspace2alma_skip_day_cleanup:
    RemoveStaleFileOperator(task_id="remove_stale_output", name=OUTPUT_NAME, inlets=[MARC_EXPORT])


with DAG(
    dag_id="aspace2alma_deadline_check",
    schedule=eastern_timetable(DEADLINE_SCHEDULE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS | {"execution_timeout": timedelta(minutes=10)},
    tags=["aspace2alma", "alerting"],
    doc_md="""
### aspace2alma deadline check
At 10:30 America/New_York on the days `aspace2alma` runs, checks that day's 05:30 run of
`aspace2alma` succeeded; if not, mails the addresses in the Variable `aspace2alma_alert_to`
(comma separated) through `smtp_default`, so an operator can act before Alma's 11:00
import, and then fails (red, no retry): a missed deadline shows in the grid. An SMTP server
that cannot be reached is retried; an address list it can never take fails at once, named.
This is the deadline alert: Airflow 3.3.2's Deadline Alerts break `dag.test()` (the demo
and the tests), so the deadline is a scheduled check instead.

**Touches** the Airflow metadata (through the Task SDK) and `smtp_default`. **Recovery**:
safe to clear or backfill; a re-run checks again and mails again only if still not done.
""",
) as aspace2alma_deadline_check:
    ExportDeadlineCheckOperator(task_id="check_export_done", dag_id_to_check=aspace2alma.dag_id, at=EXPORT_SCHEDULE.at)
