"""Airflow's configuration against a devstack: one function used by `make run`,
`make demo` and the tests, so all three run the DAGs the same way."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from devstack.process import ManagedProcess, free_port
from devstack.settings import PLUGINS_FOLDER, REPO_ROOT, pools_import_document
from devstack.stack import Devstack

API_PORT = 8080
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"  # pragma: allowlist secret
# A second person, named by email: bulk deletions need an approver who is a registry user
# (mapped by the Airflow user name) and not whoever triggered the run. The demo seed makes
# this address an admin of the demo institution.
APPROVER_USER = "approver@demo.edu"
APPROVER_PASSWORD = "approver"  # pragma: allowlist secret
LOCAL_USERS = {ADMIN_USER: ADMIN_PASSWORD, APPROVER_USER: APPROVER_PASSWORD}

log = logging.getLogger(__name__)


def airflow_environment(stack: Devstack, home: Path, *, api_port: int = API_PORT) -> dict[str, str]:
    """Environment variables that make an Airflow process use this stack.

    Workers run in UTC (SFTPSensor compares naive mtimes as UTC); DAG schedules
    carry their own America/New_York timezone. The Fernet key (Variables and
    Connections are stored encrypted) is generated once per Airflow home and given to
    every process explicitly: left to Airflow, a process started before ``airflow.cfg``
    was written would use no key and read other processes' values still encrypted.
    """
    from cryptography.fernet import Fernet

    home.mkdir(parents=True, exist_ok=True)
    passwords_file = home / "simple_auth_manager_passwords.json"
    known = json.loads(passwords_file.read_text()) if passwords_file.exists() else {}
    if any(user not in known for user in LOCAL_USERS):
        passwords_file.write_text(json.dumps({**known, **LOCAL_USERS}))
    fernet_file = home / "fernet.key"
    if not fernet_file.exists():
        fernet_file.write_bytes(Fernet.generate_key())
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__FERNET_KEY": fernet_file.read_text().strip(),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{user}:admin" for user in LOCAL_USERS),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": stack["postgres"].url("airflow", "postgresql+psycopg2"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "devstack-only-not-a-secret",  # pragma: allowlist secret
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "PYTHONPATH": str(REPO_ROOT),  # for include/; Airflow adds its plugins folder itself
        "TZ": "UTC",
        **stack.airflow_connections_env(),
    }


def airflow_command(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    airflow = Path(sys.executable).with_name("airflow")
    return subprocess.run([str(airflow), *args], env={**os.environ, **env}, check=True, **kwargs)


def prepare_metadata_db(env: dict[str, str]) -> None:
    """Migrate Airflow's metadata DB and create the pools of ``airflow_settings.yaml``."""
    airflow_command(["db", "migrate"], env, stdout=subprocess.DEVNULL)
    pools_file = Path(env["AIRFLOW_HOME"]) / "pools.json"
    pools_file.write_text(json.dumps(pools_import_document()))
    airflow_command(["pools", "import", str(pools_file)], env, stdout=subprocess.DEVNULL)


def move_variables_into_metadata_db(env: dict[str, str]) -> dict[str, str]:
    """``env`` without its ``AIRFLOW_VAR_*``, which go into the metadata DB instead (keys
    already there are kept): for `make run`, where an operator edits Variables in the UI,
    and an environment variable would silently shadow the edit."""
    variables = {
        key[len("AIRFLOW_VAR_") :].lower(): value for key, value in env.items() if key.startswith("AIRFLOW_VAR_")
    }
    remaining = {key: value for key, value in env.items() if not key.startswith("AIRFLOW_VAR_")}
    variables_file = Path(env["AIRFLOW_HOME"]) / "variables.json"
    variables_file.write_text(json.dumps(variables))
    airflow_command(["variables", "import", "--action-on-existing-key", "skip", str(variables_file)], remaining,
                    stdout=subprocess.DEVNULL)  # fmt: skip
    return remaining


AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CELERY_WORKER_CONCURRENCY = 4


def celery_environment(env: dict[str, str], broker_url: str) -> dict[str, str]:
    """Overrides of ``airflow_environment`` that switch to the CeleryExecutor: tasks go
    through the broker at ``broker_url``, results to the metadata DB."""
    database = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{database}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(CELERY_WORKER_CONCURRENCY),
    }


class AirflowCluster:
    """Airflow's own components (API server, scheduler, dag-processor, triggerer) as
    separate processes, LocalExecutor, on a prepared metadata DB: what `make run` serves
    and what the scheduler-level tests drive through the REST API.

    Once started, a supervisor thread restarts a component that exits, as systemd's
    ``Restart=on-failure`` or a Kubernetes pod would: the scheduler, dag-processor and
    triggerer exit on purpose when the metadata DB goes away. Restarts back off from
    ``RESTART_BACKOFF`` seconds, doubling while the component keeps exiting within
    ``STABLE_AFTER`` seconds of its start, up to ``MAX_BACKOFF``.

    It also probes liveness, as the official Helm chart's liveness probes do: a component
    that is still running but whose heartbeat the API's health endpoint has reported stale
    for ``LIVENESS_GRACE`` seconds, while the metadata DB is healthy, is stopped and then
    restarted like one that exited (a component gets ``STABLE_AFTER`` seconds to start up first). (A scheduler that lost its DB can hang while shutting
    its executor down, waiting on a task process that keeps retrying its own API calls.)
    """

    RESTART_BACKOFF, MAX_BACKOFF, STABLE_AFTER = 1.0, 30.0, 60.0
    LIVENESS_GRACE, LIVENESS_PERIOD = 60.0, 5.0
    # component process name -> its part in /api/v2/monitor/health
    HEALTH_PARTS = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        *,
        die_with_parent: bool = True,
        on_restart: Callable[[str], None] | None = None,
        celery_workers: int = 0,
    ) -> None:
        """``celery_workers``: with the CeleryExecutor (``celery_environment``), start that many
        ``airflow celery worker`` processes, each in its own working and temp directory and
        with its own log-server port, as separate machines would be."""
        self.env = env
        self.workdir = workdir
        self.api_port = int(env["AIRFLOW__API__PORT"])
        self.on_restart = on_restart
        self.restarts: list[tuple[str, float]] = []
        airflow_bin = Path(sys.executable).parent
        # Variables only from ``env``: one inherited from this process (the test session exports
        # airflow_settings.yaml's) would shadow what a test sets through the API
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_VAR_")}
        process_env = {**inherited, **env, "PATH": f"{airflow_bin}{os.pathsep}{os.environ['PATH']}"}
        self.processes = {
            component: ManagedProcess(
                component,
                [str(airflow_bin / "airflow"), component],
                workdir / f"{component}.log",
                env=process_env,
                cwd=REPO_ROOT,
                die_with_parent=die_with_parent,
            )
            for component in AIRFLOW_COMPONENTS
        }
        for number in range(1, celery_workers + 1):
            name = f"celery-worker-{number}"
            home = workdir / name
            (home / "tmp").mkdir(parents=True, exist_ok=True)
            self.processes[name] = ManagedProcess(
                name,
                [str(airflow_bin / "airflow"), "celery", "worker", "--celery-hostname", f"worker{number}@%h"],
                workdir / f"{name}.log",
                env={
                    **process_env,
                    "TMPDIR": str(home / "tmp"),
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                },  # fmt: skip
                cwd=home,
                die_with_parent=die_with_parent,
            )
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, timeout: float = 240) -> None:
        """Start every component and wait until the API reports them healthy; fail at once,
        with its log, if one exits on the way (a bad configuration, a missing dependency)."""
        for process in self.processes.values():
            process.start()
        deadline = time.monotonic() + timeout
        while not self._responds_healthy():
            for process in self.processes.values():
                if not process.running():
                    raise RuntimeError(f"airflow {process.name} exited while starting:\n{process.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Airflow components not healthy after {timeout:.0f}s")
            time.sleep(0.5)
        if self._supervisor is None:
            self._stopping.clear()
            self._supervisor = threading.Thread(target=self._supervise, name="airflow-supervisor", daemon=True)
            self._supervisor.start()

    def healthy(self) -> bool:
        """Every component running and the API's health endpoint reporting them healthy."""
        return all(process.running() for process in self.processes.values()) and self._responds_healthy()

    def _responds_healthy(self) -> bool:
        health = self._health()
        return all(health.get(part) == "healthy" for part in ("metadatabase", *self.HEALTH_PARTS.values()))

    def _health(self) -> dict[str, str]:
        """Each part's status from the API's health endpoint; empty when the API does not answer."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=2) as response:
                health = json.loads(response.read())
        except (OSError, ValueError):
            return {}
        if not isinstance(health, dict):
            return {}
        return {part: (value or {}).get("status") for part, value in health.items() if isinstance(value, dict)}

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        for process in self.processes.values():
            process.stop(timeout=20)

    def _supervise(self) -> None:
        started = {name: time.monotonic() for name in self.processes}
        backoff = dict.fromkeys(self.processes, self.RESTART_BACKOFF)
        due: dict[str, float] = {}
        stale_since: dict[str, float] = {}
        next_probe = time.monotonic() + self.LIVENESS_PERIOD
        while not self._stopping.wait(0.5):
            now = time.monotonic()
            if now >= next_probe:
                next_probe = now + self.LIVENESS_PERIOD
                self._probe_liveness(now, started, stale_since)
            for name, process in self.processes.items():
                if process.popen is None or process.running():
                    continue
                if name not in due:
                    if now - started[name] > self.STABLE_AFTER:
                        backoff[name] = self.RESTART_BACKOFF
                    due[name] = now + backoff[name]
                    log.warning(
                        "airflow %s exited (code %s); restarting in %.0f s\n%s",
                        name, process.popen.returncode, backoff[name], process.log_tail(5),
                    )  # fmt: skip
                    backoff[name] = min(backoff[name] * 2, self.MAX_BACKOFF)
                elif now >= due[name]:
                    del due[name]
                    self._restart(name, now, started)

    def _restart(self, name: str, now: float, started: dict[str, float]) -> None:
        self.processes[name].start()
        started[name] = now
        self.restarts.append((name, now))
        if self.on_restart is not None:
            self.on_restart(name)

    def _probe_liveness(self, now: float, started: dict[str, float], stale_since: dict[str, float]) -> None:
        """Stop and start again a running component whose heartbeat has stayed stale for
        ``LIVENESS_GRACE`` seconds, once it has had ``STABLE_AFTER`` seconds to start up."""
        health = self._health()
        if health.get("metadatabase") != "healthy":
            stale_since.clear()  # while the DB is down every heartbeat is stale: wait for it
            return
        for name, part in self.HEALTH_PARTS.items():
            process = self.processes[name]
            if health.get(part) == "healthy" or not process.running():
                stale_since.pop(name, None)
                continue
            since = stale_since.setdefault(name, now)
            if now - since >= self.LIVENESS_GRACE and now - started[name] >= self.STABLE_AFTER:
                log.warning(
                    "airflow %s is running but its heartbeat has been stale for %.0f s: stopping it\n%s",
                    name, now - since, process.log_tail(5),
                )  # fmt: skip
                process.stop(timeout=10)
                stale_since.pop(name, None)
                self._restart(name, now, started)

    def records(self) -> dict[str, dict]:
        return {f"airflow-{name}": process.record() for name, process in self.processes.items() if process.pid}
