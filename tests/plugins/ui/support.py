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
def admin_token(airflow_db) -> str:
    """A token as ``POST /auth/token`` issues it to the local admin (the API server's auth manager and JWT secret)."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    manager = create_auth_manager()
    manager.init()
    return manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
