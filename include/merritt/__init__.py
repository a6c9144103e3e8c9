"""Merritt's ingest queue in ZooKeeper: states, manifests, priorities and node layout (no Airflow, no ZooKeeper)."""
