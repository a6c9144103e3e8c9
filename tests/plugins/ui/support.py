"""Fixtures of the Pipelines view tests: `make run`'s demo data on the devstack, and a caller's JWT."""

from __future__ import annotations

import pytest

from tests.conftest import STACK


@pytest.fixture(scope="module")
def demo(sftp, zookeeper, moto, kafka, postgres, airflow_db):
    """Every server the view reads, seeded as `make run` seeds them."""
    from devstack.demo_data import seed_demo_data

    return seed_demo_data(STACK)


@pytest.fixture(scope="module")
def auth_manager(airflow_db):
    """The API server's auth manager (the simple one, as configured), initialised as the API server does."""
    from airflow.api_fastapi.app import init_auth_manager

    return init_auth_manager()


@pytest.fixture(scope="module")
def admin_token(auth_manager) -> str:
    """A token as ``POST /auth/token`` issues it to the local admin (same auth manager, same JWT secret)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
