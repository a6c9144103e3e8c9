"""Merritt's ingest queue on a started kazoo client: ZooKeeper primitives, staging, batches, job moves, administration."""
