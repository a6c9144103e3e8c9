"""Merritt ingest queue in ZooKeeper."""
