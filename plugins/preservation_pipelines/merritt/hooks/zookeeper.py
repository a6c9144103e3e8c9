"""A hook for Merritt's ZooKeeper ensemble over the ``merritt_zk`` connection, through kazoo.

Connection fields:

- ``host``: one host or a comma-separated list (``zk1,zk2:2182,zk3``); hosts without a
  port use the connection's ``port`` (default 2181).
- ``schema`` (or extra ``chroot``): the chroot the queue lives under, e.g. ``merritt``;
  empty for the root. The chroot node must exist.
- ``login``/``password``: ZooKeeper digest authentication (``addauth digest login:password``).
- extra ``session_timeout`` (seconds, default 30), ``connect_timeout`` (default 15: also how
  long a lost connection is re-established before the client gives up and the task's
  calls fail), ``max_tries`` (retries of a ZooKeeper call across connection loss, default 5).

kazoo reconnects on its own and starts a new session when one expires; callers wrap
their idempotent steps in :meth:`retry`, which retries on connection loss, timeouts and
session expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    from kazoo.client import KazooClient

DEFAULT_PORT = 2181
T = TypeVar("T")


class MerrittZooKeeperError(RuntimeError):
    """ZooKeeper could not be reached or is not set up as the connection says."""


def connection_string(host: str, port: int | None, chroot: str | None) -> str:
    """``zk1:2181,zk2:2182/merritt`` from a host list, a default port and a chroot."""
    hosts = []
    for part in (host or "").split(","):
        part = part.strip()
        if not part:
            continue
        hosts.append(part if ":" in part.rsplit("]", 1)[-1] else f"{part}:{port or DEFAULT_PORT}")
    if not hosts:
        raise MerrittZooKeeperError("the ZooKeeper connection names no host")
    chroot = (chroot or "").strip().strip("/")
    return ",".join(hosts) + (f"/{chroot}" if chroot else "")


class MerrittZooKeeperHook(BaseHook):
    conn_name_attr = "merritt_zk_conn_id"
    default_conn_name = "merritt_zk"
    conn_type = "generic"
    hook_name = "Merritt ZooKeeper"

    def __init__(self, merritt_zk_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.merritt_zk_conn_id = merritt_zk_conn_id
        self._client: KazooClient | None = None
        self._max_tries = 5

    def client_settings(self) -> dict[str, Any]:
        """The KazooClient arguments this connection stands for."""
        from kazoo.retry import KazooRetry

        conn = self.get_connection(self.merritt_zk_conn_id)
        extra = conn.extra_dejson
        self._max_tries = int(extra.get("max_tries", 5))
        self._connect_timeout = float(extra.get("connect_timeout", 15))
        settings: dict[str, Any] = {
            "hosts": connection_string(conn.host, conn.port, conn.schema or extra.get("chroot")),
            "timeout": float(extra.get("session_timeout", 30)),
            # Reconnecting gives up after connect_timeout without an answer: the client closes and
            # every call waiting for the connection fails (ConnectionClosedError), so the try fails
            # and Airflow retries it. Unbounded, a call made while ZooKeeper is down waits forever.
            "connection_retry": KazooRetry(max_tries=-1, delay=0.2, max_delay=5, deadline=self._connect_timeout),
            "command_retry": KazooRetry(max_tries=self._max_tries, delay=0.2, max_delay=5),
        }
        if conn.login:
            settings["auth_data"] = [("digest", f"{conn.login}:{conn.password or ''}")]
        return settings

    def get_conn(self) -> KazooClient:
        """A started client; the chroot must exist."""
        if self._client is None:
            from kazoo.client import KazooClient
            from kazoo.handlers.threading import KazooTimeoutError

            settings = self.client_settings()
            client = KazooClient(**settings)
            try:
                client.start(timeout=self._connect_timeout)
            except KazooTimeoutError:
                client.stop()  # ends the reconnect loop, which would otherwise run forever
                client.close()
                raise MerrittZooKeeperError(
                    f"ZooKeeper at {settings['hosts']} ({self.merritt_zk_conn_id}) did not answer within {self._connect_timeout:.0f}s"
                ) from None
            if client.chroot and client.exists("/") is None:
                client.stop()
                client.close()
                raise MerrittZooKeeperError(f"chroot {client.chroot} does not exist on {settings['hosts']}")
            self._client = client
        return self._client

    def retry(self, step: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an idempotent step, again after connection loss, timeouts or session expiry."""
        from kazoo.retry import KazooRetry

        return KazooRetry(max_tries=self._max_tries, delay=0.5, max_delay=10, ignore_expire=True)(step, *args, **kwargs)

    def close(self) -> None:
        if self._client is not None:
            self._client.stop()
            self._client.close()
            self._client = None

    def __enter__(self) -> MerrittZooKeeperHook:
        self.get_conn()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
