"""``python -m devstack <command>``: the local stack and Airflow on it.

up      start the servers and wait (Ctrl-C stops them); --detach to return at once
down    stop everything a detached `up` or `run` started (what `make stop` calls)
status  each server's port, pid and whether it answers
run     servers + Airflow (API server/UI, scheduler, dag-processor, triggerer) on
        http://127.0.0.1:8080, demo data seeded, DAGs unpaused (`make run`)
demo    servers + every DAG run once headless, with a summary (`make demo`)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack.airflow import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    APPROVER_PASSWORD,
    APPROVER_USER,
    AirflowCluster,
    airflow_environment,
    move_variables_into_metadata_db,
    prepare_metadata_db,
)
from devstack.debian import ensure_debian_packages
from devstack.demo import ensure_archive_bucket
from devstack.demo_data import seed_demo_data
from devstack.process import port_is_open
from devstack.settings import REPO_ROOT
from devstack.stack import ALL_SERVERS, Devstack, read_state, stop_recorded

log = logging.getLogger("devstack")
LOCAL_WORKDIR = REPO_ROOT / ".devstack" / "local"
DEMO_WORKDIR = REPO_ROOT / ".devstack" / "demo"


def _wait_for_interrupt(stack: Devstack) -> None:
    """Block until Ctrl-C, SIGTERM, or a server exits."""
    stopping = False

    def request_stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    while not stopping:
        dead = [name for name, server in stack.servers.items() if server.process and not server.process.running()]
        if dead:
            log.warning("%s exited; stopping the stack", ", ".join(dead))
            break
        time.sleep(0.5)


def command_up(args: argparse.Namespace) -> int:
    unknown = set(args.servers) - set(ALL_SERVERS)
    if unknown:
        raise SystemExit(f"unknown server(s): {', '.join(sorted(unknown))}; choose from {', '.join(ALL_SERVERS)}")
    ensure_debian_packages()
    stack = Devstack(LOCAL_WORKDIR, die_with_parent=not args.detach)
    try:
        stack.start(args.servers or ALL_SERVERS)
    except Exception:
        stack.stop()
        raise
    print_status(stack.workdir)
    if args.detach:
        return 0
    try:
        print("devstack running; Ctrl-C stops it")
        _wait_for_interrupt(stack)
    finally:
        stack.stop()
    return 0


def command_down(args: argparse.Namespace) -> int:
    for workdir in (LOCAL_WORKDIR, DEMO_WORKDIR):
        stopped = stop_recorded(workdir)
        if stopped:
            print(f"stopped {', '.join(stopped)} ({workdir.name})")
    return 0


def print_status(workdir: Path) -> None:
    servers = read_state(workdir).get("servers", {})
    if not servers:
        print("devstack: nothing running")
    for name, info in servers.items():
        state = "up" if port_is_open(info["port"]) else "DOWN"
        print(f"  {name:10} 127.0.0.1:{info['port']:<6} pid {info['pgid']:<8} {state}  log {info['log']}")


def command_status(args: argparse.Namespace) -> int:
    print_status(LOCAL_WORKDIR)
    return 0


def command_run(args: argparse.Namespace) -> int:
    ensure_debian_packages()
    began = time.monotonic()
    stack = Devstack(LOCAL_WORKDIR)
    airflow = None
    try:
        stack.start(ALL_SERVERS)
        env = airflow_environment(stack, LOCAL_WORKDIR / "airflow")
        print("migrating Airflow's metadata DB ...", flush=True)
        prepare_metadata_db(env)
        env = move_variables_into_metadata_db(env)
        seed_demo_data(stack)
        ensure_archive_bucket(stack["moto"].endpoint_url)
        airflow = AirflowCluster(
            env, LOCAL_WORKDIR / "airflow", on_restart=lambda _name: stack.write_state({"processes": airflow.records()})
        )
        airflow.start()
        stack.write_state({"processes": airflow.records()})
        print(
            f"\nAirflow is up in {time.monotonic() - began:.0f}s: {airflow.base_url}"
            f"  (login {ADMIN_USER} / {ADMIN_PASSWORD}; approve bulk deletions as {APPROVER_USER} / {APPROVER_PASSWORD})\n"
            f"logs: {airflow.workdir}/<component>.log (a component that exits is restarted)\n"
            "Ctrl-C or `make stop` stops everything.",
            flush=True,
        )
        _wait_for_interrupt(stack)
    finally:
        if airflow is not None:
            airflow.stop()
        stack.stop()
        stack.state_path.unlink(missing_ok=True)
    return 0


def command_demo(args: argparse.Namespace) -> int:
    ensure_debian_packages()
    shutil.rmtree(DEMO_WORKDIR, ignore_errors=True)
    stack = Devstack(DEMO_WORKDIR, ports="free")
    try:
        stack.start(ALL_SERVERS)
        env = airflow_environment(stack, DEMO_WORKDIR / "airflow", api_port=0)
        prepare_metadata_db(env)
        confs = seed_demo_data(stack)
        ensure_archive_bucket(stack["moto"].endpoint_url)
        done = subprocess.run(
            [sys.executable, "-m", "devstack.demo", json.dumps(confs)], env={**os.environ, **env}, cwd=REPO_ROOT
        )
        return done.returncode
    finally:
        stack.stop()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the servers")
    up.add_argument("servers", nargs="*", help=f"any of {', '.join(ALL_SERVERS)} (default: all)")
    up.add_argument("--detach", action="store_true", help="return once ready; `down` stops them")
    commands.add_parser("down", help="stop what `up --detach` or `run` started")
    commands.add_parser("status", help="show the servers")
    commands.add_parser("run", help="servers + Airflow on http://127.0.0.1:8080")
    commands.add_parser("demo", help="run every DAG once, headless")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    handler = {
        "up": command_up,
        "down": command_down,
        "status": command_status,
        "run": command_run,
        "demo": command_demo,
    }[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
