"""A small client for Airflow's public REST API (``/api/v2``, token auth): what an
operator's scripts, or the UI, do to trigger, clear, mark and backfill runs."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import requests

FINISHED = {"success", "failed"}


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        token = self.http.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30)
        token.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs) -> Any:
        response = self.http.request(method, f"{self.base_url}/api/v2{path}", timeout=60, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    # -- DAGs and runs ------------------------------------------------------
    def dag(self, dag_id: str) -> dict[str, Any]:
        return self.call("GET", f"/dags/{dag_id}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id`` into the metadata DB."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.http.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=30)
            if response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                raise AssertionError(f"DAG {dag_id} not parsed after {timeout}s: {response.text[:300]}")
            time.sleep(1)

    def unpause(self, dag_id: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, *, logical_date: datetime | None = None, conf: dict | None = None) -> str:
        body = {"logical_date": logical_date.isoformat() if logical_date else None, "conf": conf or {}}
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "order_by": "logical_date"})[
            "dag_runs"
        ]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300, states=FINISHED) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.run(dag_id, run_id)["state"]
            if state in states:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{dag_id} {run_id} still {state} after {timeout}s: {self.task_states(dag_id, run_id)}"
                )
            time.sleep(1)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def wait_for_task(self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.task_states(dag_id, run_id).get(task_id)
            if state in states:
                return state
            if time.monotonic() > deadline:
                states_now = self.task_states(dag_id, run_id)
                raise AssertionError(f"{dag_id}.{task_id} in {run_id} still {state} after {timeout}s: {states_now}")
            time.sleep(0.5)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")["value"]

    # -- what operators do from the UI -----------------------------------------
    def clear_tasks(
        self, dag_id: str, run_id: str, task_ids: list[str], *, only_failed: bool = False, downstream: bool = False
    ) -> None:
        self.call(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={
                "dry_run": False,
                "dag_run_id": run_id,
                "task_ids": task_ids,
                "only_failed": only_failed,
                "include_downstream": downstream,
                "reset_dag_runs": True,
            },
        )

    def clear_run(self, dag_id: str, run_id: str) -> None:
        self.call("POST", f"/dags/{dag_id}/dagRuns/{run_id}/clear", json={"dry_run": False})

    def mark_run(self, dag_id: str, run_id: str, state: str) -> None:
        self.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": state})

    def create_backfill(self, dag_id: str, from_date: datetime, to_date: datetime, **body) -> dict[str, Any]:
        return self.call(
            "POST",
            "/backfills",
            json={"dag_id": dag_id, "from_date": from_date.isoformat(), "to_date": to_date.isoformat(), **body},
        )

    # -- Variables (the components' tasks read them through the API server) ---
    def variable(self, key: str) -> str | None:
        response = self.http.get(f"{self.base_url}/api/v2/variables/{key}", timeout=60)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()["value"]

    def set_variable(self, key: str, value: str) -> None:
        if self.variable(key) is None:
            self.call("POST", "/variables", json={"key": key, "value": value})
        else:
            self.call("PATCH", f"/variables/{key}", json={"key": key, "value": value})

    def delete_variable(self, key: str) -> None:
        self.call("DELETE", f"/variables/{key}")
