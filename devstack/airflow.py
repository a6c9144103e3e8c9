"""Airflow's configuration against a devstack: one function used by `make run`,
`make demo` and the tests, so all three run the DAGs the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from devstack.process import ManagedProcess, wait_until
from devstack.settings import REPO_ROOT, pools_import_document
from devstack.stack import Devstack

API_PORT = 8080
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"


def airflow_environment(stack: Devstack, home: Path, *, api_port: int = API_PORT) -> dict[str, str]:
    """Environment variables that make an Airflow process use this stack.

    Workers run in UTC (SFTPSensor compares naive mtimes as UTC); DAG schedules
    carry their own America/New_York timezone.
    """
    home.mkdir(parents=True, exist_ok=True)
    passwords_file = home / "simple_auth_manager_passwords.json"
    if not passwords_file.exists():
        passwords_file.write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}))
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": stack["postgres"].url("airflow", "postgresql+psycopg2"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "devstack-only-not-a-secret",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "plugins")]),
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


AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


class AirflowCluster:
    """Airflow's own components (API server, scheduler, dag-processor, triggerer) as
    separate processes, LocalExecutor, on a prepared metadata DB: what `make run` serves
    and what the scheduler-level tests drive through the REST API."""

    def __init__(self, env: dict[str, str], workdir: Path, *, die_with_parent: bool = True) -> None:
        self.env = env
        self.workdir = workdir
        self.api_port = int(env["AIRFLOW__API__PORT"])
        airflow_bin = Path(sys.executable).parent
        process_env = {**os.environ, **env, "PATH": f"{airflow_bin}{os.pathsep}{os.environ['PATH']}"}
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

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, components: tuple[str, ...] = AIRFLOW_COMPONENTS, timeout: float = 240) -> None:
        for component in components:
            self.processes[component].start()
        wait_until(self.healthy, timeout, "Airflow components")

    def healthy(self) -> bool:
        for process in self.processes.values():
            if process.popen is not None and not process.running():
                raise RuntimeError(f"airflow {process.name} exited:\n{process.log_tail()}")
        with urllib.request.urlopen(f"{self.base_url}/api/v2/monitor/health", timeout=2) as response:
            health = json.loads(response.read())
        return all(
            (health.get(part) or {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    def stop(self, components: tuple[str, ...] = AIRFLOW_COMPONENTS) -> None:
        for component in components:
            self.processes[component].stop(timeout=20)

    def records(self) -> dict[str, dict]:
        return {f"airflow-{name}": process.record() for name, process in self.processes.items() if process.pid}
