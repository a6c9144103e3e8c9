"""Listener: a finished run's summary written into the DAG run's note.

Airflow 3's Task SDK cannot write a run's note from a task, so the note is written where
the run finishes: the scheduler (or ``dag.test()``) calls ``on_dag_run_success`` /
``on_dag_run_failed`` with the run still attached to the session that is about to commit
its new state. The note goes through that same session, in the same transaction: no
second connection that would wait on the run's row the scheduler holds, and nothing
written if the scheduler's transaction rolls back. The summary is the XCom
``run_summary`` that ``RunSummaryOperator`` leaves, failed or not; a run without one
(Merritt's, a run cleared before its summary task) keeps its note as it is. The
listener's errors are logged by Airflow and never reach the scheduler loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from airflow.listeners import hookimpl

from include.common.run_note import RUN_SUMMARY_XCOM_KEY, note_with_summary

log = logging.getLogger(__name__)


@hookimpl
def on_dag_run_success(dag_run, msg: str) -> None:  # noqa: ARG001 - the listener spec's signature
    write_summary_note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run, msg: str) -> None:  # noqa: ARG001 - the listener spec's signature
    write_summary_note(dag_run)


def write_summary_note(dag_run) -> None:
    # imported here: every Airflow process, task processes too, loads the plugin; only the
    # scheduler (and dag.test()) finish runs
    from airflow import settings
    from airflow.models.dagrun import DagRun
    from sqlalchemy.orm import Session, object_session

    session = object_session(dag_run)
    if session is not None:
        _write(session, dag_run)
        return
    # ``dag.test()`` hands over a run its task loop detached (the scoped session was closed
    # under it). A session of its own, never the thread's scoped one: closing that would
    # detach the caller's objects too. Its insert into dag_run_note only takes a key-share
    # lock on the run's row, which the caller's pending update of the run does not block.
    with Session(bind=settings.engine) as own, own.begin():
        attached = own.get(DagRun, dag_run.id)
        if attached is not None:
            _write(own, attached)


def _write(session, dag_run) -> None:
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    stored = session.scalars(
        select(XComModel)
        .where(XComModel.dag_run_id == dag_run.id, XComModel.key == RUN_SUMMARY_XCOM_KEY)
        .order_by(XComModel.timestamp.desc())
        .limit(1)
    ).first()
    if stored is None:
        return
    summary = XComModel.deserialize_value(stored)
    if not isinstance(summary, Mapping):  # a custom XCom backend's reference, say
        log.info("run %s: run_summary is not a mapping, note left as it is", dag_run.run_id)
        return
    note = note_with_summary(dag_run.note, summary)
    if note is not None:
        dag_run.note = note
