"""The Pipelines view as an Airflow plugin: its FastAPI app on the API server and its entry in the UI's navigation.

Airflow's plugin loader executes this file (``plugins/.airflowignore`` lets only ``*_plugin.py``
through); the app itself is imported by its package path.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from preservation_pipelines.ui.app import URL_PREFIX, app


class PipelinesViewPlugin(AirflowPlugin):
    name = "pipelines_view"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Pipelines view"}]
    external_views = [
        {
            "name": "Pipelines",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "pipelines",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
