"""Domain logic of the pipelines, with no Airflow import."""
