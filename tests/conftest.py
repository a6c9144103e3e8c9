"""Test fixtures: the real devstack servers, started on free ports, stopped at the end.

Airflow reads its configuration when first imported, so the environment is set
here, at import time, before any test module imports airflow. Servers start
lazily: a test that asks for ``zookeeper`` starts only ZooKeeper (once per session).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from hypothesis import HealthCheck, settings

from devstack.airflow import airflow_environment, prepare_metadata_db
from devstack.debian import ensure_debian_packages
from devstack.settings import REPO_ROOT
from devstack.stack import Devstack

# Property-based tests: a bounded number of examples per test keeps the suite's time modest;
# HYPOTHESIS_PROFILE=thorough runs many more locally.
settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=5_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ensure_debian_packages()
WORKDIR = REPO_ROOT / ".devstack" / f"pytest-{os.getpid()}"
STACK = Devstack(WORKDIR, ports="free")
os.environ.update(airflow_environment(STACK, WORKDIR / "airflow"))
import airflow  # noqa: E402,F401  - Airflow puts its plugins folder on sys.path, as in a deployment


def _refresh_connections() -> None:
    os.environ.update(STACK.airflow_connections_env())


@pytest.fixture(scope="session")
def devstack():
    """The session's devstack; servers are started by the per-server fixtures."""
    yield STACK
    if "airflow.settings" in sys.modules:  # release metadata-DB connections before PostgreSQL goes
        sys.modules["airflow.settings"].dispose_orm()
    STACK.stop()


def pytest_unconfigure(config):  # noqa: ARG001 - the work dir goes, whether or not a test used the devstack
    shutil.rmtree(WORKDIR, ignore_errors=True)


def _server_fixture(name: str):
    @pytest.fixture(scope="session", name=name)
    def fixture(devstack):
        devstack.start([name])
        _refresh_connections()
        return devstack[name]

    return fixture


sftp = _server_fixture("sftp")
zookeeper = _server_fixture("zookeeper")
moto = _server_fixture("moto")
kafka = _server_fixture("kafka")
postgres = _server_fixture("postgres")
smtp = _server_fixture("smtp")
aspace = _server_fixture("aspace")


@pytest.fixture(scope="session")
def airflow_db(postgres):
    """A migrated Airflow metadata DB (on the devstack's PostgreSQL) with the project's pools."""
    prepare_metadata_db(airflow_environment(STACK, WORKDIR / "airflow"))
    return postgres
