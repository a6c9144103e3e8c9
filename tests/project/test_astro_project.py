"""The Astro project files fit together: .astro/config.yaml is versioned, every side server of
docker-compose.override.yml is on the Astro CLI's network, airflow_settings.astro.yaml names the
same connections as airflow_settings.yaml and reaches them by service name, and the devstack gate
of tests/conftest.py skips only where the servers cannot run."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from tests import conftest

REPO_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {"scheduler", "triggerer", "dag-processor", "api-server"}  # the Astro CLI's own


def _yaml(name: str):
    return yaml.safe_load((REPO_ROOT / name).read_text())


def test_astro_project_config_is_versioned():
    assert _yaml(".astro/config.yaml")["project"]["name"]
    ignored = subprocess.run(["git", "check-ignore", "-q", ".astro/config.yaml"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 1, ".astro/config.yaml is ignored by .gitignore"


def test_side_servers_join_the_astro_network():
    services = _yaml("docker-compose.override.yml")["services"]
    for name, service in services.items():
        if name not in AIRFLOW_SERVICES:
            assert service.get("networks") == ["airflow"], f"{name} is not on the Astro CLI's network"


def _host(conn: dict) -> str | None:
    if conn.get("conn_host"):
        return conn["conn_host"]
    extra = conn.get("conn_extra") or {}
    if "endpoint_url" in extra:
        return urlparse(extra["endpoint_url"]).hostname
    if "bootstrap.servers" in extra:
        return extra["bootstrap.servers"].split(":")[0]
    return None


def test_astro_connections_mirror_the_local_ones_by_service_name():
    local = {c["conn_id"]: c for c in _yaml("airflow_settings.yaml")["airflow"]["connections"]}
    astro = {c["conn_id"]: c for c in _yaml("airflow_settings.astro.yaml")["airflow"]["connections"]}
    assert set(astro) == set(local)
    services = set(_yaml("docker-compose.override.yml")["services"])
    for conn_id, conn in astro.items():
        assert conn["conn_type"] == local[conn_id]["conn_type"], conn_id
        assert _host(conn) in services, f"{conn_id}: {_host(conn)} is not a service of docker-compose.override.yml"
        assert (conn.get("conn_extra") or {}).get("no_host_key_check") in (None, False), conn_id


def test_gate_skips_only_where_the_servers_cannot_run(monkeypatch):
    monkeypatch.delenv("DEVSTACK", raising=False)
    monkeypatch.setattr(conftest, "missing_packages", lambda required: [])
    assert conftest.devstack_unavailable() is None
    monkeypatch.setattr(conftest, "missing_packages", lambda required: ["zookeeper"])
    monkeypatch.setattr(conftest.os, "geteuid", lambda: 0)
    monkeypatch.setattr(conftest.shutil, "which", lambda name: "/usr/bin/apt-get")
    assert conftest.devstack_unavailable() is None, "root with apt-get installs the packages (CI): nothing skips"
    monkeypatch.setattr(conftest.os, "geteuid", lambda: 50000)
    assert "zookeeper" in conftest.devstack_unavailable()
    monkeypatch.setenv("DEVSTACK", "off")
    assert conftest.devstack_unavailable() == "DEVSTACK=off"


@pytest.mark.parametrize("path", ["tests", "devstack", "constraints.txt"])
def test_image_keeps_what_astro_dev_pytest_and_the_standin_need(path):
    assert path not in (REPO_ROOT / ".dockerignore").read_text().split()
