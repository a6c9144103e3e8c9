"""Airflow code of this repository's pipelines: one package per system plus ``common``,
each split by kind like Airflow's providers."""
