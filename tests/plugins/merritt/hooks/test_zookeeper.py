"""The ZooKeeper hook against the real server: host lists, chroots, digest authentication."""

from __future__ import annotations

import pytest
from kazoo.client import KazooClient

from preservation_pipelines.merritt.hooks.zookeeper import (
    MerrittZooKeeperError,
    MerrittZooKeeperHook,
    connection_string,
)
from tests.include.merritt.support import merritt_conn, queue_root, zk_chroot  # noqa: F401 - fixtures


def test_connection_strings_take_host_lists_ports_and_chroots():
    assert connection_string("zk1,zk2:2182, zk3", 2181, "/merritt") == "zk1:2181,zk2:2182,zk3:2181/merritt"
    assert connection_string("127.0.0.1", None, "") == "127.0.0.1:2181"
    with pytest.raises(MerrittZooKeeperError, match="no host"):
        connection_string(" , ", 2181, None)


def test_the_hook_connects_through_a_host_list_into_the_chroot_from_the_extra(zookeeper, merritt_conn, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MERRITT_ZK",
        f'{{"conn_type": "generic", "host": "127.0.0.1, localhost", "port": {zookeeper.port}, '
        f'"extra": {{"chroot": "{merritt_conn}"}}}}',
    )
    with MerrittZooKeeperHook() as hook:
        assert hook.get_conn().chroot == merritt_conn
        hook.get_conn().create("/through-the-hook")
    with MerrittZooKeeperHook() as hook:
        assert hook.get_conn().exists("/through-the-hook")


def test_a_missing_chroot_is_named(zookeeper, merritt_conn, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MERRITT_ZK",
        f'{{"conn_type": "generic", "host": "127.0.0.1", "port": {zookeeper.port}, "schema": "no-such-chroot"}}',
    )
    with pytest.raises(MerrittZooKeeperError, match="chroot /no-such-chroot does not exist"):
        MerrittZooKeeperHook().get_conn()


def test_the_hook_authenticates_with_digest_credentials_from_the_connection(zookeeper, merritt_conn, monkeypatch):
    from kazoo.security import make_digest_acl

    monkeypatch.setenv(
        "AIRFLOW_CONN_MERRITT_ZK",
        f'{{"conn_type": "generic", "host": "127.0.0.1", "port": {zookeeper.port}, "schema": "{merritt_conn}", '
        '"login": "merritt", "password": "s3cret"}',  # pragma: allowlist secret
    )
    with MerrittZooKeeperHook() as hook:
        client = hook.get_conn()
        client.create("/private", b"x", acl=[make_digest_acl("merritt", "s3cret", all=True)])
        assert client.get("/private")[0] == b"x"
    stranger = KazooClient(hosts=f"127.0.0.1:{zookeeper.port}{merritt_conn}")
    stranger.start(timeout=10)
    try:
        from kazoo.exceptions import NoAuthError

        with pytest.raises(NoAuthError):
            stranger.get("/private")
    finally:
        stranger.stop()
        stranger.close()
