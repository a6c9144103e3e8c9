"""The Pipelines view as an Airflow plugin: its FastAPI app on the API server and its entry in the UI's navigation.

Airflow's plugin loader executes this file (``plugins/.airflowignore`` lets only ``*_plugin.py``
through) in every component, task processes included, so it imports nothing heavy: the app (FastAPI,
the core API's security, seconds of imports) is imported only when the API server asks for it.
"""

from __future__ import annotations

import threading

from airflow.plugins_manager import AirflowPlugin

from preservation_pipelines.ui import URL_PREFIX


class PipelinesViewPlugin(AirflowPlugin):
    name = "pipelines_view"
    _warming = threading.Lock()

    @property
    def fastapi_apps(self) -> list[dict]:
        from preservation_pipelines.ui.app import app, warm_up

        # only the API server (and `airflow plugins`) gets here: start the panels' own imports, once
        if self._warming.acquire(blocking=False):
            threading.Thread(target=warm_up, name="pipelines-view-warm-up", daemon=True).start()
        return [{"app": app, "url_prefix": URL_PREFIX, "name": "Pipelines view"}]

    external_views = [
        {
            "name": "Pipelines",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "pipelines",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
