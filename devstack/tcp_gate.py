"""A server behind a TCP relay that can be taken off the network without stopping it.

``python -m devstack.tcp_gate --listen PORT --target PORT -- SERVER_ARGV...`` starts
the server (listening on the target port, in this process's group, so stopping the
gate stops both) and relays the public port to it. SIGUSR1 closes the public port and
cuts every open connection: clients get "connection refused", as from a server that
went down. SIGUSR2 opens it again.

moto keeps its tables, streams and queues in memory only, so stopping it would lose
everything a fault test checks afterwards; behind this gate an outage keeps its state.
A relay of a few lines on asyncio streams is all this needs; no library in the lock
does it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024


class Gate:
    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.server: asyncio.base_events.Server | None = None
        self.connections: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._relay, LOOPBACK, self.listen_port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.connections):
            writer.transport.abort()
        self.connections.clear()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(LOOPBACK, self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, server_writer}
        self.connections |= pair
        try:
            await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))
        finally:
            self.connections -= pair


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(gate: Gate, backend: subprocess.Popen) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: loop.create_task(gate.close()))
    loop.add_signal_handler(signal.SIGUSR2, lambda: loop.create_task(gate.open()))
    await gate.open()
    while not stop.is_set() and backend.poll() is None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
    await gate.close()
    return backend.poll() or 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.tcp_gate", description=__doc__)
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("server", nargs=argparse.REMAINDER, help="the server's argv, after --")
    args = parser.parse_args()
    argv = args.server[1:] if args.server[:1] == ["--"] else args.server
    backend = subprocess.Popen(argv)
    try:
        return asyncio.run(serve(Gate(args.listen, args.target), backend))
    finally:
        backend.terminate()
        try:
            backend.wait(timeout=10)
        except subprocess.TimeoutExpired:
            backend.kill()


if __name__ == "__main__":
    raise SystemExit(main())
