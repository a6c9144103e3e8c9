"""The UI as a person sees it: headless Chromium logs in, opens every DAG, and keeps a
screenshot of its grid and of its docs in ``screenshots/`` (see the README).

Runs after the other ops tests (file order), so the aspace2alma DAGs have runs to show.
"""

from __future__ import annotations

import itertools
import re

import pytest

from devstack.airflow import ADMIN_PASSWORD, ADMIN_USER
from devstack.debian import BROWSER, ensure_debian_packages
from devstack.settings import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "screenshots"
PLAIN_WORD = re.compile(r"[A-Za-z0-9:/,.;'-]+")  # rendered by markdown exactly as written


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    ensure_debian_packages(BROWSER)
    options = webdriver.ChromeOptions()
    options.binary_location = str(BROWSER["chromium"])
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(BROWSER["chromium-driver"])), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _wait_for_text(driver, text: str, timeout: float = 60) -> None:
    """Wait until the page shows ``text`` (case-insensitive: the UI capitalizes states)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text.lower() in d.find_element("tag name", "body").text.lower())


@pytest.fixture(scope="module")
def logged_in(browser, airflow_cluster):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(airflow_cluster.base_url + "/")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.NAME, "username"))
    browser.find_element(By.NAME, "username").send_keys(ADMIN_USER)
    browser.find_element(By.NAME, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 60).until(lambda d: "/auth/login" not in d.current_url)
    SCREENSHOTS.mkdir(exist_ok=True)
    return browser


def _doc_phrase(doc_md: str) -> str:
    """The first words of the docs' first paragraph, up to any markdown markup."""
    for line in doc_md.splitlines():
        if line.strip() and not line.lstrip().startswith(("#", "|", "-", "*", "`")):
            plain = itertools.takewhile(PLAIN_WORD.fullmatch, line.split()[:4])
            return " ".join(plain)
    raise AssertionError("doc_md has no paragraph")


def test_every_dag_shows_its_docs_and_its_last_run_state(logged_in, api, airflow_cluster):
    from selenium.webdriver.common.by import By

    dags = api.call("GET", "/dags", params={"limit": 100})["dags"]
    assert dags
    for dag in dags:
        dag_id = dag["dag_id"]
        details = api.call("GET", f"/dags/{dag_id}/details")
        runs = api.runs(dag_id)

        logged_in.get(f"{airflow_cluster.base_url}/dags/{dag_id}")
        _wait_for_text(logged_in, dag_id)
        logged_in.save_screenshot(str(SCREENSHOTS / f"{dag_id}-grid.png"))
        if runs:
            last_run = runs[-1]
            logged_in.get(f"{airflow_cluster.base_url}/dags/{dag_id}/runs/{last_run['dag_run_id']}")
            _wait_for_text(logged_in, last_run["dag_run_id"])
            logged_in.save_screenshot(str(SCREENSHOTS / f"{dag_id}-last-run.png"))
            _wait_for_text(logged_in, last_run["state"])
            logged_in.get(f"{airflow_cluster.base_url}/dags/{dag_id}")
            _wait_for_text(logged_in, dag_id)

        logged_in.find_element(By.XPATH, "//button[@aria-label='Dag Docs' or normalize-space()='Dag Docs']").click()
        _wait_for_text(logged_in, _doc_phrase(details["doc_md"]))
        logged_in.save_screenshot(str(SCREENSHOTS / f"{dag_id}-docs.png"))
        logged_in.find_element("tag name", "body").send_keys("\ue00c")  # Escape closes the docs


def test_the_assets_view_shows_the_datasets_and_their_lineage(logged_in, api, airflow_cluster):
    """Every asset the DAGs declare is in the Assets view; the MARC export's page draws the
    lineage from the barcode report through the export task (screenshots ``assets.png`` and
    ``asset-marc-export.png``)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    assets = {asset["name"]: asset for asset in api.call("GET", "/assets", params={"limit": 100})["assets"]}
    assert {"aspace2alma MARC export", "postingest state table", "Merritt ingest queue"} <= set(assets)
    assert "APTrust registry work items" in assets

    logged_in.get(f"{airflow_cluster.base_url}/assets")
    _wait_for_text(logged_in, "aspace2alma MARC export")
    logged_in.save_screenshot(str(SCREENSHOTS / "assets.png"))
    logged_in.get(f"{airflow_cluster.base_url}/assets/{assets['aspace2alma MARC export']['id']}")
    _wait_for_text(logged_in, "aspace2alma MARC export")
    WebDriverWait(logged_in, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".react-flow__node")) >= 2)
    logged_in.find_element(By.XPATH, "//button[normalize-space()='Task Dependencies']").click()
    _wait_for_text(logged_in, "export_to_alma")  # Alma barcode report -> export_to_alma -> MARC export
    _wait_for_text(logged_in, "Alma barcode report")
    logged_in.save_screenshot(str(SCREENSHOTS / "asset-marc-export.png"))
