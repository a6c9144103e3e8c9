"""The devstack: every server of the project, started and stopped as one.

One way to start each server, used by ``make run``, ``make demo`` and the test
fixtures alike. Ports come from ``airflow_settings.yaml`` (the defaults for
``make run``) or are chosen free (``ports="free"``, what tests use, so several
stacks can coexist).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from devstack.process import free_port, stop_recorded_process
from devstack.servers import SERVER_CLASSES, ArchivesSpaceStandin, Server
from devstack.settings import airflow_environment, load_settings

log = logging.getLogger("devstack")

ALL_SERVERS = tuple(SERVER_CLASSES)
STATE_FILE = "state.json"


def configured_ports() -> dict[str, int]:
    """Each server's port as written in ``airflow_settings.yaml``."""
    connections = {conn["conn_id"]: conn for conn in load_settings()["connections"]}
    ports = {}
    for name, cls in SERVER_CLASSES.items():
        conn = connections[cls.conn_id]
        extra = conn.get("conn_extra") or {}
        if conn.get("conn_port"):
            ports[name] = int(conn["conn_port"])
        elif "endpoint_url" in extra:
            ports[name] = urlparse(extra["endpoint_url"]).port
        elif "bootstrap.servers" in extra:
            ports[name] = int(extra["bootstrap.servers"].rsplit(":", 1)[1])
        else:
            raise ValueError(f"airflow_settings.yaml: connection {cls.conn_id} names no port for {name}")
    return ports


class Devstack:
    def __init__(
        self,
        workdir: Path,
        *,
        ports: str | dict[str, int] = "configured",
        aspace_options: dict[str, Any] | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        if ports == "configured":
            ports = configured_ports()
        elif ports == "free":
            ports = {name: free_port() for name in SERVER_CLASSES}
        self.ports: dict[str, int] = dict(ports)
        self.die_with_parent = die_with_parent
        self.servers: dict[str, Server] = {}
        for name, cls in SERVER_CLASSES.items():
            if cls is ArchivesSpaceStandin:
                self.servers[name] = cls(self.workdir, self.ports[name], aspace_options)
            else:
                self.servers[name] = cls(self.workdir, self.ports[name])
        self.start_seconds: dict[str, float] = {}
        self.stop_seconds: dict[str, float] = {}

    def __getitem__(self, name: str) -> Server:
        return self.servers[name]

    def start(self, names: Iterable[str] = ALL_SERVERS) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in names:
            server = self.servers[name]
            if server.process and server.process.running():
                continue
            began = time.monotonic()
            server.start(die_with_parent=self.die_with_parent)
            self.start_seconds[name] = time.monotonic() - began
            log.info(
                "%-9s ready on 127.0.0.1:%d in %.2fs (pid %s)", name, server.port, self.start_seconds[name], server.pid
            )
        self.write_state()

    def stop(self, names: Iterable[str] | None = None) -> None:
        for name in list(names if names is not None else reversed(ALL_SERVERS)):
            server = self.servers[name]
            if server.process is None:
                continue
            began = time.monotonic()
            server.stop()
            self.stop_seconds[name] = time.monotonic() - began
            log.info("%-9s stopped in %.2fs", name, self.stop_seconds[name])
        self.write_state()

    def restart(self, name: str) -> None:
        self.stop([name])
        self.start([name])

    def running(self) -> list[str]:
        return [name for name, server in self.servers.items() if server.process and server.process.running()]

    def connection_overrides(self) -> dict[str, dict[str, Any]]:
        return {
            conn_id: server.connection()
            for server in self.servers.values()
            for conn_id in (server.conn_id, *server.other_conn_ids)
        }

    def airflow_connections_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_*``/``AIRFLOW_VAR_*`` pointing at this stack."""
        return airflow_environment(self.connection_overrides())

    # -- state shared with `python -m devstack down/status` in another process --
    @property
    def state_path(self) -> Path:
        return self.workdir / STATE_FILE

    def write_state(self, extra: dict[str, Any] | None = None) -> None:
        state = read_state(self.workdir)
        state["servers"] = {
            name: {"port": server.port, "log": str(server.log_path), **server.process.record()}
            for name, server in self.servers.items()
            if server.process
        }
        state.update(extra or {})
        self.state_path.write_text(json.dumps(state, indent=2))


def read_state(workdir: Path) -> dict[str, Any]:
    path = Path(workdir) / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def stop_recorded(workdir: Path) -> list[str]:
    """Stop what a detached stack recorded in its state file (``make stop``)."""
    state = read_state(workdir)
    records = {**state.get("processes", {}), **state.get("servers", {})}
    stopped = [name for name, record in records.items() if stop_recorded_process(record)]
    (Path(workdir) / STATE_FILE).unlink(missing_ok=True)
    return stopped
