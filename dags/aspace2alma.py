"""aspace2alma and its skip-day cleanup: ArchivesSpace → Alma through the SFTP drop box.

Both schedules come from one definition: the cleanup runs on exactly the weekdays
the export does not.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param
from aspace2alma_operators import ArchivesSpaceToAlmaOperator, RemoveStaleFileOperator, SFTPRotateOperator
from timetables import WeekdayTimetable

EXPORT_SCHEDULE = WeekdayTimetable(at="05:30", weekdays=("SUN", "TUE", "WED", "THU", "FRI"), timezone="America/New_York")
CLEANUP_SCHEDULE = EXPORT_SCHEDULE.complement()

DEFAULT_ARGS = {
    "owner": "library-systems",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=3),
}
PARAMS = {
    "folder": Param("/alma/aspace", type="string", description="Drop-box folder on lib_sftp shared with Alma"),
}

with DAG(
    dag_id="aspace2alma",
    schedule=EXPORT_SCHEDULE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["aspace2alma", "alma", "archivesspace", "sftp"],
    doc_md="""
### aspace2alma
Exports every collection-level resource of every ArchivesSpace repository as MARC-XML
into one MARC21 slim `<collection>` and uploads it to the Alma drop box as
`MARC_out.xml`, which Alma's import job reads at 11:00 Eastern.

**Runs** 05:30 America/New_York on Sun, Tue, Wed, Thu and Fri (never Mon: Alma is backed
up; never Sat: ASpace maintenance). **Touches** `aspace_default` (read only) and
`lib_sftp` (`<folder>/MARC_out.xml`, `MARC_out_old.xml`).

**Steps**: `rotate_output` moves yesterday's `MARC_out.xml` aside first, so a failed run
leaves nothing for Alma to import twice; `export_to_alma` streams the export to a
temporary name and renames it only when complete.

**Recovery**: every task is safe to clear or retry; a failed run leaves no `MARC_out.xml`.
""",
) as aspace2alma:
    rotate_output = SFTPRotateOperator(
        task_id="rotate_output", folder="{{ params.folder }}", current="MARC_out.xml", previous="MARC_out_old.xml"
    )
    export_to_alma = ArchivesSpaceToAlmaOperator(task_id="export_to_alma", folder="{{ params.folder }}", pool="aspace_api")
    rotate_output >> export_to_alma


with DAG(
    dag_id="aspace2alma_skip_day_cleanup",
    schedule=CLEANUP_SCHEDULE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["aspace2alma", "alma", "sftp"],
    doc_md="""
### aspace2alma skip-day cleanup
On the days `aspace2alma` does not run (Mon and Sat, 05:30 America/New_York: the exact
complement of its schedule), delete `MARC_out.xml` if it was written before that day
began (Eastern), so Alma's 11:00 import cannot take yesterday's file a second time.
A file written that day (an operator ran the export by hand) is left alone.

**Touches** `lib_sftp` only. **Recovery**: safe to clear, retry or backfill: the day is the
run's logical date in Eastern time, never "now".
""",
) as aspace2alma_skip_day_cleanup:
    RemoveStaleFileOperator(task_id="remove_stale_output", folder="{{ params.folder }}", name="MARC_out.xml")
