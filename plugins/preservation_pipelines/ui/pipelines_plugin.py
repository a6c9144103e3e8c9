"""The Pipelines view as an Airflow plugin: its FastAPI app on the API server and its entry in the UI's navigation.

Airflow's plugin loader executes this file (``plugins/.airflowignore`` lets only ``*_plugin.py``
through); the app itself is imported by its package path.
"""

from __future__ import annotations

import threading

from airflow.plugins_manager import AirflowPlugin

from preservation_pipelines.ui.app import URL_PREFIX, app, warm_up


class PipelinesViewPlugin(AirflowPlugin):
    name = "pipelines_view"
    _warming = threading.Lock()

    @property
    def fastapi_apps(self) -> list[dict]:
        # Every component loads the plugins; only the API server (and `airflow plugins`) asks for the apps,
        # so that is where the panels' heavy imports are worth starting, once, in the background.
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
