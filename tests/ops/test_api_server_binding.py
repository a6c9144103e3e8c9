"""The local API server (UI, REST API, execution API) listens on loopback only."""

from __future__ import annotations

import socket

import psutil


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    parent = psutil.Process(pid)
    addresses = set()
    for process in [parent, *parent.children(recursive=True)]:
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                addresses.add((connection.laddr.ip, connection.laddr.port))
    return addresses


def _other_addresses() -> list[str]:
    return [
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET and not address.address.startswith("127.")
    ]


def test_the_api_server_listens_on_127_0_0_1_only(airflow_cluster):
    listening = _listening_addresses(airflow_cluster.processes["api-server"].pid)
    assert (("127.0.0.1", airflow_cluster.api_port)) in listening
    assert {ip for ip, _port in listening} == {"127.0.0.1"}
    for address in _other_addresses():  # and nothing answers on the machine's other interfaces
        with socket.socket() as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, airflow_cluster.api_port)) != 0, address
