"""The Pipelines view on a running cluster, as `make run` serves it: the API server mounts the plugin's app
and lists its navigation entry; every page answers on the demo data (timed), refuses callers without a
token, and a headless Chromium, signed in as the UI's login leaves it, keeps a screenshot of each page in docs/images/
(the README shows them)."""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import requests

from devstack.settings import REPO_ROOT
from preservation_pipelines.ui import URL_PREFIX
from preservation_pipelines.ui.app import PAGES
from tests.conftest import STACK
from tests.ops.test_ui import browser  # noqa: F401 - fixture

IMAGES = REPO_ROOT / "docs" / "images"
PAGE_PATHS = {"overview": "/", **{slug: f"/{slug}" for slug in PAGES}}
WARM_PAGE_SECONDS = 1.0
BULK_DELETE, APPROVAL = "aptrust_bulk_delete", "approve_deletion"
PANEL_ERROR = re.compile(r"<h2>([^<]*)</h2>\s*<p class=\"error\">([^<]*)</p>")


@pytest.fixture(scope="module")
def demo_world(api):
    """`make run`'s demo data, a bulk deletion waiting for its approval, and an export run to summarise."""
    from devstack.demo_data import seed_demo_data

    confs = seed_demo_data(STACK)
    api.wait_for_dag(BULK_DELETE)
    waiting = api.trigger(BULK_DELETE, conf=confs[BULK_DELETE])
    if not api.runs("aspace2alma"):  # the aspace2alma ops tests leave runs; alone, this file makes one
        api.wait_for_dag("aspace2alma")
        run_id = api.trigger("aspace2alma", logical_date=datetime.now(UTC), conf=confs["aspace2alma"])
        assert api.wait_for_run("aspace2alma", run_id, timeout=600) == "success"
    api.wait_for_task(BULK_DELETE, waiting, APPROVAL, {"awaiting_input"}, timeout=180)
    yield waiting
    api.mark_run(BULK_DELETE, waiting, "failed")  # a running run cannot be deleted
    api.call("DELETE", f"/dags/{BULK_DELETE}/dagRuns/{waiting}")


def _get(api, path: str, **kwargs) -> requests.Response:
    return requests.get(f"{api.base_url}{URL_PREFIX}{path}", timeout=30, allow_redirects=False, **kwargs)


def test_the_api_server_lists_the_view_in_the_navigation(api, airflow_cluster):
    plugins = {plugin["name"]: plugin for plugin in api.call("GET", "/plugins")["plugins"]}

    view = plugins["pipelines_view"]
    assert [app["url_prefix"] for app in view["fastapi_apps"]] == [URL_PREFIX]
    assert [(entry["name"], entry["href"], entry["destination"]) for entry in view["external_views"]] == [
        ("Pipelines", "pipelines/", "nav")
    ]


@pytest.mark.parametrize("page", PAGE_PATHS)
def test_pages_refuse_callers_without_a_valid_token(api, airflow_cluster, page):
    path = PAGE_PATHS[page]

    assert _get(api, path).status_code == 401
    assert _get(api, path, headers={"Authorization": "Bearer forged"}).status_code == 403
    assert _get(api, path, cookies={"_token": "forged"}).status_code == 403


def test_every_page_answers_within_a_second_on_the_demo_data(api, airflow_cluster, demo_world, capsys):
    auth = {"Authorization": api.http.headers["Authorization"]}
    timings, failures = {}, {}
    for page, path in PAGE_PATHS.items():
        durations = []
        for _ in range(4):  # the first may still pay the panels' imports
            started = time.monotonic()
            response = _get(api, path, headers=auth)
            durations.append(time.monotonic() - started)
            assert response.status_code == 200, response.text[:300]
            failures.setdefault(page, []).extend(PANEL_ERROR.findall(response.text))
        timings[page] = durations
    with capsys.disabled():
        for page, durations in timings.items():
            print(
                f"\npipelines view {page}: first {durations[0]:.2f} s, then median {statistics.median(durations[1:]):.2f} s"
            )
    failures = {page: errors for page, errors in failures.items() if errors}
    assert failures == {}, airflow_cluster.processes["api-server"].log_tail(60)
    slow = {page: min(durations[1:]) for page, durations in timings.items() if min(durations[1:]) >= WARM_PAGE_SECONDS}
    assert slow == {}

    aptrust = _get(api, "/aptrust", headers=auth).text
    assert demo_world in aptrust and f"dags/{BULK_DELETE}/runs/{quote(demo_world, safe='')}/required_actions" in aptrust
    assert "merritt_queue_admin?conf=" in _get(api, "/merritt", headers=auth).text
    assert "Run summary" in _get(api, "/aspace2alma", headers=auth).text


@pytest.fixture
def signed_in(browser, api, airflow_cluster):  # noqa: F811 - fixture
    """The browser with the session the UI's login leaves: the API's token in the ``_token`` cookie
    (set fresh: a cookie ignores the port, so one from the other executor's cluster would linger)."""
    browser.get(f"{airflow_cluster.base_url}/api/v2/version")
    browser.delete_all_cookies()
    browser.add_cookie({"name": "_token", "value": api.http.headers["Authorization"].split()[1], "path": "/"})
    return browser


def _frame_text(driver) -> str:
    return driver.find_element("tag name", "body").text


def _wait(driver, condition, timeout: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def test_screenshots_of_every_page_in_the_ui(signed_in, airflow_cluster, demo_world):
    from selenium.webdriver.common.by import By

    IMAGES.mkdir(parents=True, exist_ok=True)
    driver = signed_in
    driver.get(f"{airflow_cluster.base_url}/plugin/pipelines")
    frame = _wait(driver, lambda d: d.find_elements(By.TAG_NAME, "iframe"))[0]
    driver.switch_to.frame(frame)
    _wait(driver, lambda d: "Jobs per state" in _frame_text(d) and "Run summary" in _frame_text(d))
    assert "Could not read this panel" not in _frame_text(driver)
    driver.switch_to.default_content()
    driver.save_screenshot(str(IMAGES / "pipelines-in-the-ui.png"))

    for slug, page in PAGES.items():
        driver.get(f"{airflow_cluster.base_url}{URL_PREFIX}/{slug}")
        _wait(driver, lambda d, page=page: f"{page.title}" in _frame_text(d) and "Page built in" in _frame_text(d))
        assert "Could not read this panel" not in _frame_text(driver)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(max(height + 200, 600), 3000))  # the window's frame included
        driver.save_screenshot(str(IMAGES / f"pipelines-{slug}.png"))
    driver.set_window_size(1600, 1000)
