"""``airflow_settings.yaml`` (Astro's format) as the single source of local connections.

The devstack reads the file, overrides the fields only it knows (ports it chose,
the SFTP host key and client key it generated, moto's endpoint) and hands the
result to Airflow as ``AIRFLOW_CONN_*`` / ``AIRFLOW_VAR_*`` environment variables.
DAG code only ever names connection ids, so production differs by connections alone.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = REPO_ROOT / "airflow_settings.yaml"
PLUGINS_FOLDER = REPO_ROOT / "plugins"

_FIELD_NAMES = {
    "conn_type": "conn_type",
    "conn_host": "host",
    "conn_port": "port",
    "conn_login": "login",
    "conn_password": "password",  # pragma: allowlist secret
    "conn_schema": "schema",
    "conn_extra": "extra",
}


def use_plugins_folder() -> None:
    """Make the plugins package importable outside Airflow (devstack seeds, benchmarks), by
    putting ``plugins/`` on ``sys.path`` exactly as Airflow does for its plugins folder."""
    if str(PLUGINS_FOLDER) not in sys.path:
        sys.path.append(str(PLUGINS_FOLDER))


def load_settings(path: Path = SETTINGS_FILE) -> dict[str, list[dict[str, Any]]]:
    document = yaml.safe_load(path.read_text()) or {}
    airflow = document.get("airflow") or {}
    return {key: airflow.get(key) or [] for key in ("connections", "pools", "variables")}


def merge_connection(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **{k: v for k, v in overrides.items() if k != "conn_extra"}}
    merged["conn_extra"] = {**(base.get("conn_extra") or {}), **(overrides.get("conn_extra") or {})}
    return merged


def connection_json(conn: dict[str, Any]) -> str:
    """The JSON form Airflow accepts in an ``AIRFLOW_CONN_<ID>`` variable."""
    fields = {target: conn[source] for source, target in _FIELD_NAMES.items() if conn.get(source) not in (None, "", {})}
    return json.dumps(fields)


def airflow_environment(overrides_by_conn_id: dict[str, dict[str, Any]], path: Path = SETTINGS_FILE) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` and ``AIRFLOW_VAR_*`` for every connection and variable in the file."""
    settings = load_settings(path)
    env = {}
    for conn in settings["connections"]:
        merged = merge_connection(conn, overrides_by_conn_id.get(conn["conn_id"], {}))
        env[f"AIRFLOW_CONN_{conn['conn_id'].upper()}"] = connection_json(merged)
    for variable in settings["variables"]:
        value = variable["variable_value"]
        env[f"AIRFLOW_VAR_{variable['variable_name'].upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def pools_import_document(path: Path = SETTINGS_FILE) -> dict[str, dict[str, Any]]:
    """Pools in the shape ``airflow pools import`` reads."""
    return {
        pool["pool_name"]: {
            "slots": pool["pool_slot"],
            "description": pool.get("pool_description", ""),
            "include_deferred": False,
        }
        for pool in load_settings(path)["pools"]
    }
