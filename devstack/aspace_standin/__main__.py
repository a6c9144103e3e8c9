"""Run the ArchivesSpace stand-in: ``python -m devstack.aspace_standin --port 8089``.

Prints ``ArchivesSpace stand-in ready on http://HOST:PORT`` once listening and
stops cleanly on SIGTERM or SIGINT. Faults can be given here and changed at
runtime through ``POST /_standin/faults``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import re
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from devstack.aspace_standin.server import FAULT_KINDS, FaultConfig, create_app


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def _ids(text: str) -> list[int]:
    """'12,15', '12 15' or '[12, 15]'."""
    return [int(number) for number in re.findall(r"\d+", text)]


def _json_or_file(text: str) -> dict[str, Any]:
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"invalid JSON: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("faults must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack.aspace_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port (default: %(default)s)")
    data = parser.add_argument_group("generated data")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--repositories", type=int, default=3)
    data.add_argument("--resources", type=int, default=48)
    data.add_argument("--containers", type=int, default=480)
    server = parser.add_argument_group("server")
    server.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    server.add_argument("--user", default="admin")
    server.add_argument("--password", default="admin")
    server.add_argument("--session-ttl", type=float, default=3600.0, help="seconds of inactivity")
    server.add_argument("--cache-responses", type=_bool, nargs="?", const=True, default=False,
                        help="keep each rendered MARC export / container page (the benchmark's setting)")  # fmt: skip
    server.add_argument("--log-interval", type=float, default=10.0, help="seconds between request summaries")
    faults = parser.add_argument_group("failure injection")
    faults.add_argument("--faults", type=_json_or_file, default={}, help="fault config as JSON, or @file")
    faults.add_argument("--fault-seed", type=int, default=None)
    faults.add_argument("--down", type=_bool, nargs="?", const=True, default=None, help="answer 503 to everything")
    for kind in FAULT_KINDS:
        flag = kind.replace("_", "-")
        faults.add_argument(f"--{flag}-rate", type=float, default=None, metavar="RATE", help=f"{kind}: 0..1")
        faults.add_argument(f"--{flag}-ids", type=_ids, default=None, metavar="IDS", help=f"{kind}: resource ids")
    faults.add_argument("--slow-seconds", type=float, default=None)
    faults.add_argument("--error-5xx-statuses", type=_ids, default=None)
    faults.add_argument("--hostile-xml-variant", choices=("billion_laughs", "external_entity", "mixed"))
    return parser


def fault_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The --faults JSON with the per-kind flags applied on top (flags win)."""
    spec = copy.deepcopy(args.faults)
    options = {"slow": ("seconds", args.slow_seconds), "error_5xx": ("statuses", args.error_5xx_statuses)}
    options["hostile_xml"] = ("variant", args.hostile_xml_variant)
    for kind in FAULT_KINDS:
        rule = spec.get(kind, {})
        rule = {"rate": rule} if isinstance(rule, (int, float)) else rule
        flags = {"rate": getattr(args, f"{kind}_rate"), "resource_ids": getattr(args, f"{kind}_ids")}
        rule |= {key: value for key, value in flags.items() if value is not None}
        if not rule:
            continue
        option, value = options.get(kind, (None, None))
        if value is not None:
            rule[option] = value
        spec[kind] = rule
    if args.down is not None:
        spec["down"] = args.down
    if args.fault_seed is not None:
        spec["seed"] = args.fault_seed
    return spec


async def serve(args: argparse.Namespace, faults: FaultConfig) -> None:
    app = create_app(
        seed=args.seed,
        repositories=args.repositories,
        resources=args.resources,
        containers=args.containers,
        latency_ms=args.latency_ms,
        user=args.user,
        password=args.password,
        session_ttl=args.session_ttl,
        faults=faults,
        log_interval=args.log_interval,
        cache_responses=args.cache_responses,
    )
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    port = runner.addresses[0][1]
    print(f"ArchivesSpace stand-in ready on http://{args.host}:{port}", flush=True)
    logging.getLogger("aspace_standin").info(
        "seed %d: %d repositories, %d resources, %d top containers; latency %g ms; faults %s",
        args.seed, args.repositories, args.resources, args.containers, args.latency_ms, json.dumps(faults.to_json()),
    )  # fmt: skip
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        faults = FaultConfig.parse(fault_spec(args))
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args, faults))
    return 0


if __name__ == "__main__":
    sys.exit(main())
