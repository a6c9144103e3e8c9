"""The Pipelines view's FastAPI app, mounted by the API server at ``/pipelines`` (``pipelines_plugin.py``).

Airflow does not authenticate a plugin's app (a mounted app inherits none of the core API's
dependencies): every page depends on ``requires_access_dag`` for the DAGs of the systems it shows,
which resolves the caller from the API's JWT (the UI's ``_token`` cookie or a Bearer token),
401/403 otherwise. Each page runs its panels side by side, each bounded by ``PANEL_TIMEOUT``, so a
server that is down or slow costs only its own panel, which says what failed.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from preservation_pipelines.ui import panels
from preservation_pipelines.ui.model import Code, Link, PanelResult

log = logging.getLogger(__name__)

PANEL_TIMEOUT = 5.0  # seconds; ZooKeeper alone waits 15 s for a server that does not answer


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    dag_ids: tuple[str, ...]  # whoever may read these DAGs' runs may see the page
    panels: tuple[Callable[[], PanelResult], ...]


PAGES = {
    page.slug: page
    for page in (
        Page("merritt", "Merritt", ("merritt_queue_admin",), (panels.merritt,)),
        Page("postingest", "postingest", ("postingest_resender",), (panels.postingest,)),
        Page("aptrust", "APTrust", ("aptrust_bulk_delete",), (panels.aptrust_approvals, panels.aptrust_registry)),
        Page(
            "aspace2alma", "aspace2alma", ("aspace2alma",), (panels.aspace2alma_dropbox, panels.aspace2alma_last_export)
        ),
    )
}
OVERVIEW = Page(
    "",
    "All pipelines",
    tuple(dag_id for page in PAGES.values() for dag_id in page.dag_ids),
    tuple(panel for page in PAGES.values() for panel in page.panels),
)

templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html"])
)
templates.globals.update(Link=Link, Code=Code, isinstance=isinstance)


def run_panels(functions: tuple[Callable[[], PanelResult], ...], timeout: float = PANEL_TIMEOUT) -> list[PanelResult]:
    """Every panel at once; one that raises or outlasts ``timeout`` becomes an error naming what failed."""
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=len(functions), thread_name_prefix="pipelines-panel")
    futures = [pool.submit(_timed, function) for function in functions]
    results = []
    for function, future in zip(functions, futures, strict=True):
        remaining = max(0.0, started + timeout - time.monotonic())
        try:
            result = future.result(timeout=remaining)
        except FutureTimeout:
            result = PanelResult(error=f"no answer within {timeout:.0f} s", seconds=time.monotonic() - started)
        result.title = PANEL_TITLES.get(function, function.__name__)
        results.append(result)
    pool.shutdown(wait=False)  # a panel still waiting on its server finishes (and closes its client) on its own
    return results


def _timed(function: Callable[[], PanelResult]) -> PanelResult:
    started = time.monotonic()
    try:
        result = function()
    except Exception as error:  # noqa: BLE001 - the panel says what failed; the page goes on
        log.warning("pipelines view: panel %s failed", function.__name__, exc_info=True)
        result = PanelResult(error=f"{type(error).__name__}: {error}")
    result.seconds = time.monotonic() - started
    return result


PANEL_TITLES = {
    panels.merritt: "Merritt ingest queue (ZooKeeper, merritt_zk)",
    panels.postingest: "postingest (DynamoDB and SQS, aws_default)",
    panels.aptrust_registry: "APTrust registry (PostgreSQL, aptrust_registry)",
    panels.aptrust_approvals: "APTrust deletions waiting for approval (Airflow)",
    panels.aspace2alma_dropbox: "aspace2alma drop box (SFTP, lib_sftp)",
    panels.aspace2alma_last_export: "aspace2alma last export (Airflow)",
}


def _render(page: Page) -> HTMLResponse:
    started = time.monotonic()
    results = run_panels(page.panels)
    html = templates.get_template("page.html").render(
        page=page, pages=PAGES.values(), results=results, seconds=time.monotonic() - started
    )
    return HTMLResponse(html)


def _page_route(page: Page):
    access = [Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=dag_id)) for dag_id in page.dag_ids]

    def view() -> HTMLResponse:
        return _render(page)

    view.__name__ = f"{page.slug or 'overview'}_page"
    return view, access


def warm_up() -> None:
    """Import what the panels import on first use (the providers' hooks, boto3, paramiko, kazoo: seconds
    on a busy machine), so the first page after the API server starts answers as fast as the next."""
    started = time.monotonic()
    for module in PANEL_MODULES:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - the panel reports the same failure when it runs
            log.warning("pipelines view: cannot import %s", module, exc_info=True)
    log.info("pipelines view: panels' modules imported in %.1f s", time.monotonic() - started)


PANEL_MODULES = (
    "preservation_pipelines.merritt.hooks.zookeeper",
    "preservation_pipelines.merritt.queue.batches",
    "kazoo.client",
    "preservation_pipelines.postingest.hooks.dynamodb",
    "preservation_pipelines.postingest.hooks.sqs",
    "preservation_pipelines.aptrust.hooks.registry",
    "preservation_pipelines.aspace2alma.hooks.sftp",
    "airflow.providers.sftp.hooks.sftp",
    "airflow.models.hitl",
    "airflow.models.xcom",
)


def create_app() -> FastAPI:
    app = FastAPI(title="Pipelines view", docs_url=None, redoc_url=None, openapi_url=None)
    for page in (OVERVIEW, *PAGES.values()):
        view, access = _page_route(page)
        app.add_api_route(f"/{page.slug}", view, methods=["GET"], dependencies=access, response_class=HTMLResponse)
    return app


app = create_app()
