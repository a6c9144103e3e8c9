"""Fault injection under the real scheduler: a server the DAG touches is stopped in the
middle of a run, the task fails, the server comes back, and a clear (what an operator
does instead of waiting out the retry delay) finishes the run. The invariants of the
external state are then checked. The matrix so far is in docs/reliability.md.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from tests.dags.aspace2alma_support import (  # noqa: F401 - fixtures
    FRIDAY,
    dropbox,
    expected_export,
    exported_records,
    standin,
    write_report,
)
from tests.ops.aspace2alma_ops_support import CLEANUP, DELIVERED, EXPORT, fresh_dags  # noqa: F401

FAILED_TRY = {"up_for_retry", "failed"}


def _no_partial_upload(folder) -> None:
    assert not [path.name for path in folder.iterdir() if path.name.endswith(".part")]


def test_aspace2alma_archivesspace_stopped_mid_export(fresh_dags, devstack, standin, dropbox):
    api = fresh_dags
    write_report(dropbox, modified=DELIVERED[FRIDAY])
    standin.admin("faults", {"slow": {"rate": 1.0, "seconds": 1.0}})  # widen the export to seconds
    run_id = api.trigger(EXPORT, logical_date=FRIDAY)
    try:
        api.wait_for_task(EXPORT, run_id, "export_to_alma", {"running"}, timeout=240)
        devstack.stop(["aspace"])
        api.wait_for_task(EXPORT, run_id, "export_to_alma", FAILED_TRY, timeout=240)
        assert not (dropbox / "MARC_out.xml").exists()
        _no_partial_upload(dropbox)
    finally:
        devstack.start(["aspace"])

    api.clear_tasks(EXPORT, run_id, ["export_to_alma"], downstream=True)
    assert api.wait_for_run(EXPORT, run_id) == "success", api.task_states(EXPORT, run_id)
    assert list(exported_records(dropbox)) == list(expected_export())
    _no_partial_upload(dropbox)


def test_aspace2alma_sftp_stopped_at_the_start(fresh_dags, devstack, standin, dropbox):
    api = fresh_dags
    write_report(dropbox, modified=DELIVERED[FRIDAY])
    (dropbox / "MARC_out.xml").write_text("<collection>yesterday</collection>")
    devstack.stop(["sftp"])
    try:
        run_id = api.trigger(EXPORT, logical_date=FRIDAY)
        api.wait_for_task(EXPORT, run_id, "rotate_output", FAILED_TRY, timeout=240)
    finally:
        devstack.start(["sftp"])

    api.clear_tasks(EXPORT, run_id, ["rotate_output"], downstream=True)
    assert api.wait_for_run(EXPORT, run_id) == "success", api.task_states(EXPORT, run_id)
    assert list(exported_records(dropbox)) == list(expected_export())
    assert (dropbox / "MARC_out_old.xml").read_text() == "<collection>yesterday</collection>"
    _no_partial_upload(dropbox)


def test_skip_day_cleanup_sftp_stopped(fresh_dags, devstack, dropbox):
    api = fresh_dags
    marc_out = dropbox / "MARC_out.xml"
    marc_out.write_text("<collection/>")
    written = datetime(2026, 11, 20, 14, 0, tzinfo=UTC).timestamp()
    os.utime(marc_out, (written, written))
    devstack.stop(["sftp"])
    try:
        run_id = api.trigger(CLEANUP, logical_date=datetime.now(UTC))
        api.wait_for_task(CLEANUP, run_id, "remove_stale_output", FAILED_TRY, timeout=240)
        assert marc_out.exists()
    finally:
        devstack.start(["sftp"])

    api.clear_tasks(CLEANUP, run_id, ["remove_stale_output"])
    assert api.wait_for_run(CLEANUP, run_id) == "success"
    assert not marc_out.exists()
