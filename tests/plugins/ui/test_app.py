"""The Pipelines view's app as the API server mounts it: callers without a valid token are refused, every
page answers with its panels, and a server that is down or silent costs only its own panel."""

from __future__ import annotations

import json
import threading
import time

import pytest

from devstack.process import free_port
from preservation_pipelines.ui.app import PAGES, PANEL_TIMEOUT, run_panels
from preservation_pipelines.ui.model import PanelResult
from tests.plugins.ui.support import admin_token, auth_manager, demo  # noqa: F401 - fixtures

PATHS = ["/", *(f"/{slug}" for slug in PAGES)]


@pytest.fixture(scope="module")
def client(auth_manager):
    from fastapi.testclient import TestClient

    from preservation_pipelines.ui.app import app, warm_up

    warm_up()  # as the API server does when it mounts the app
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("path", PATHS)
def test_unauthenticated_requests_are_refused(client, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 403
    assert client.get(path, cookies={"_token": "not-a-token"}).status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_every_page_shows_its_panels(client, admin_token, demo, path):
    response = client.get(path, headers={"Authorization": f"Bearer {admin_token}"})

    assert response.status_code == 200, response.text[:500]
    page = response.text
    assert "Could not read this panel" not in page
    expected = {
        "merritt": ["Merritt ingest queue", "Jobs per state", "Failed jobs", "object3.checkm: 404 Not Found"],
        "postingest": ["Items per queue", "Parked records"],
        "aptrust": ["deletions waiting for approval", "Spot tests of", "Mail not sent"],
        "aspace2alma": [
            "aspace2alma drop box",
            "sc_active_barcodes.csv",
            "arrived, waiting for the export",
            "last export",
        ],
    }
    for slug, texts in expected.items():
        if path in ("/", f"/{slug}"):
            assert all(text in page for text in texts), (slug, [text for text in texts if text not in page])


def test_the_ui_cookie_is_accepted(client, admin_token, demo):
    response = client.get("/aspace2alma", cookies={"_token": admin_token})

    assert response.status_code == 200 and "aspace2alma drop box" in response.text


def test_a_server_that_is_down_fails_only_its_panel(client, admin_token, demo, moto):
    moto.disconnect()
    try:
        response = client.get("/", headers={"Authorization": f"Bearer {admin_token}"})
    finally:
        moto.reconnect()

    assert response.status_code == 200
    sections = response.text.split("<section")[1:]
    failed = [section for section in sections if 'class="failed"' in section]
    assert len(failed) == 1 and "postingest (DynamoDB and SQS, aws_default)" in failed[0]
    assert "Could not read this panel: " in failed[0]
    assert len(sections) == 6 and "Jobs per state" in response.text and "sc_active_barcodes.csv" in response.text


def test_a_server_that_does_not_answer_fails_its_panel_at_the_timeout(client, admin_token, demo, monkeypatch):
    silent = free_port()  # nothing listens: kazoo keeps trying for the connection's connect_timeout
    connection = {
        "conn_type": "generic",
        "host": "127.0.0.1",
        "port": silent,
        "extra": {"connect_timeout": PANEL_TIMEOUT + 1},
    }
    monkeypatch.setenv("AIRFLOW_CONN_MERRITT_ZK", json.dumps(connection))
    started = time.monotonic()
    response = client.get("/merritt", headers={"Authorization": f"Bearer {admin_token}"})

    assert time.monotonic() - started < PANEL_TIMEOUT + 2
    assert f"Could not read this panel: no answer within {PANEL_TIMEOUT:.0f} s" in response.text
    for thread in threading.enumerate():  # the panel gives up on its own a second later
        if thread.name.startswith("pipelines-panel"):
            thread.join(timeout=10)


def test_run_panels_names_each_failure_and_keeps_the_others():
    def fine() -> PanelResult:
        return PanelResult(facts=[("answer", "42")])

    def broken() -> PanelResult:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    def slow() -> PanelResult:
        time.sleep(2)
        return PanelResult()

    results = run_panels((fine, broken, slow), timeout=0.5)

    assert [(result.title, result.error) for result in results] == [
        ("fine", None),
        ("broken", "ConnectionRefusedError: [Errno 111] Connection refused"),
        ("slow", "no answer within 0 s"),
    ]
