"""The Pipelines view: a read-only page per system inside the Airflow UI (``pipelines_plugin.py``)."""

URL_PREFIX = "/pipelines"  # where the API server mounts the view's app
