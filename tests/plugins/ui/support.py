"""Fixtures of the Pipelines view tests: `make run`'s demo data on the devstack, and a caller's JWT."""

from __future__ import annotations

import pytest

from tests.conftest import STACK


@pytest.fixture(scope="module")
def demo(sftp, zookeeper, moto, kafka, postgres, airflow_db):
    """Every server the view reads, seeded as `make run` seeds them. Merritt's queue starts
    empty: the scheduler-level suite ran DAGs against the same ZooKeeper root, and its
    hundreds of failed jobs would crowd the demo's out of the panel's first 200 rows."""
    from kazoo.exceptions import NoAuthError

    from devstack.demo_data import seed_demo_data
    from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperHook

    with MerrittZooKeeperHook() as hook:
        client = hook.get_conn()
        for node in client.get_children("/"):
            if node == "zookeeper":  # ZooKeeper's own
                continue
            try:
                client.delete(f"/{node}", recursive=True)
            except NoAuthError:  # another suite's ACL test node, not the queue
                pass
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
