"""The Pipelines view: a read-only page per system inside the Airflow UI (``pipelines_plugin.py``)."""
