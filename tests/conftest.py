"""Test fixtures: the real devstack servers, started on free ports, stopped at the end.

Airflow reads its configuration when first imported, so the environment is set
here, at import time, before any test module imports airflow. Servers start
lazily: a test that asks for ``zookeeper`` starts only ZooKeeper (once per session).

Where the devstack cannot run (its Debian packages missing and no root to install them, as
in an Astro Runtime container under ``astro dev pytest``), or with ``DEVSTACK=off``, every
test that needs its servers is marked ``devstack`` and skipped with the reason; the rest
(the DAG integrity tests, the pure unit tests) run. On the project's Debian machines and in
CI (root) the packages are installed as before and nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from devstack.airflow import airflow_environment, prepare_metadata_db
from devstack.debian import REQUIRED, ensure_debian_packages, missing_packages
from devstack.settings import REPO_ROOT
from devstack.stack import Devstack

try:  # a dev dependency: absent from a deployment image, where only the integrity tests run
    from hypothesis import HealthCheck, settings
except ImportError:
    settings = None
if settings is not None:
    # Property-based tests: a bounded number of examples per test keeps the suite's time modest;
    # HYPOTHESIS_PROFILE=thorough runs many more locally.
    settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("thorough", max_examples=5_000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SERVER_FIXTURES = {"devstack", "sftp", "zookeeper", "moto", "kafka", "postgres", "smtp", "aspace", "airflow_db"}
SERVER_PACKAGES = ("tests/devstack/", "tests/ops/")  # these start servers or Airflow's components themselves


def devstack_unavailable() -> str | None:
    """Why the devstack's servers cannot run here, or None when they can (after installing)."""
    if os.environ.get("DEVSTACK", "").lower() == "off":
        return "DEVSTACK=off"
    missing = missing_packages(REQUIRED)
    if missing and (os.geteuid() != 0 or shutil.which("apt-get") is None):
        return (
            f"devstack servers unavailable here (Debian packages {', '.join(missing)} missing, no root to install them)"
        )
    return None


DEVSTACK_UNAVAILABLE = devstack_unavailable()
if DEVSTACK_UNAVAILABLE is None:
    ensure_debian_packages()
WORKDIR = REPO_ROOT / ".devstack" / f"pytest-{os.getpid()}"
STACK = Devstack(WORKDIR, ports="free")
os.environ.update(airflow_environment(STACK, WORKDIR / "airflow"))
import airflow  # noqa: E402,F401  - Airflow puts its plugins folder on sys.path, as in a deployment


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "devstack: needs the devstack's servers (skipped, with the reason, where they cannot run)"
    )


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    root = str(REPO_ROOT) + os.sep
    for item in items:
        path = str(item.path).removeprefix(root)
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) or path.startswith(SERVER_PACKAGES):
            item.add_marker(pytest.mark.devstack)
            if DEVSTACK_UNAVAILABLE:
                item.add_marker(pytest.mark.skip(reason=f"needs the devstack: {DEVSTACK_UNAVAILABLE}"))


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
