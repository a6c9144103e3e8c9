"""Shared fixtures and helpers of the aspace2alma DAG tests (the real SFTP server and stand-in)."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime

import pytest
from lxml import etree

from devstack.aspace_standin.data import Dataset
from devstack.aspace_standin.server import BackgroundServer

MARC = "{http://www.loc.gov/MARC21/slim}"
FOLDER = "/alma/aspace"
# The stand-in the `aspace` fixture starts has the default dataset.
DATASET = Dataset()
REPORT_BARCODES = sorted(DATASET.iter_barcodes())[::2] + ["39999000000001"]
FRIDAY = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)  # 05:30 EST, a run day
THURSDAY = datetime(2026, 11, 19, 10, 30, tzinfo=UTC)
WEDNESDAY = datetime(2026, 11, 18, 10, 30, tzinfo=UTC)


def write_report(folder, barcodes=REPORT_BARCODES, *, name="sc_active_barcodes.csv", modified: datetime | None = None):
    path = folder / name
    path.write_text("\ufeffBarcode\n" + "".join(f"{b}\n" for b in barcodes), encoding="utf-8")
    if modified is not None:
        os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path


def exported_records(folder):
    """The MARC_out.xml records as {001: record}; fails on a duplicated record."""
    collection = etree.parse(str(folder / "MARC_out.xml")).getroot()
    assert collection.tag == f"{MARC}collection"
    records = collection.findall(f"{MARC}record")
    ids = [r.find(f"{MARC}controlfield[@tag='001']").text for r in records]
    assert not [i for i, n in Counter(ids).items() if n > 1], "a record appears twice"
    return dict(zip(ids, records, strict=True))


def items_of(record):
    return [{s.get("code"): s.text for s in f} for f in record.findall(f"{MARC}datafield[@tag='949']")]


def expected_export(report=frozenset(REPORT_BARCODES)):
    """{call number: expected 949 subfields} of every record the export must write."""
    facts = [DATASET.resource(*ref) for ref in DATASET.iter_resources()]
    return {f.call_number: f.expected_items(report) for f in facts if f.is_exported}


@pytest.fixture
def dropbox(sftp):
    folder = sftp.local_path(FOLDER)
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()
    yield folder


@pytest.fixture
def no_runs(airflow_db):
    """No earlier aspace2alma run in the metadata DB: no newer run, no previous report count."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    def clear():
        with create_session() as session:
            for run in session.query(DagRun).filter(DagRun.dag_id == "aspace2alma"):
                session.delete(run)

    clear()
    yield
    clear()


@pytest.fixture
def standin(aspace):
    aspace.admin("reset", {})
    yield aspace
    aspace.admin("reset", {})


class RequestCatcher:
    """Another host on loopback that records every request it gets (what a crafted URI would reach).

    with RequestCatcher() as catcher: ...; assert catcher.requests == []
    """

    def __init__(self) -> None:
        from aiohttp import web

        self.requests: list[dict[str, str]] = []

        async def record(request: web.Request) -> web.Response:
            self.requests.append({"path": request.path_qs, **request.headers})
            return web.json_response([])

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        self._server = BackgroundServer(app)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self._server.port}"

    def __enter__(self) -> RequestCatcher:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()
