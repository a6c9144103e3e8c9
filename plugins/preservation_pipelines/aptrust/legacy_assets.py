"""The legacy Pharos archive's datasets, as Airflow Assets (logical URIs, as in ``common.assets``)."""

from __future__ import annotations

from airflow.sdk import Asset

# The 14 legacy tables, wherever the schema setting points (Variable aptrust_legacy_schema).
LEGACY_PHAROS_TABLES = Asset(
    name="APTrust legacy Pharos tables", uri="x-postgres://aptrust_registry/legacy/pharos_tables", group="aptrust"
)
LEGACY_PHAROS_RECORDS = Asset(
    name="APTrust legacy Pharos records",
    uri="x-postgres://aptrust_registry/public/legacy_pharos_records",
    group="aptrust",
)
