"""Child processes of the devstack: each in its own process group, always reaped.

Every server is started with ``start_new_session=True`` so that stopping it kills
the whole group (sshd, postgres and java all fork helpers). ``die_with_parent``
asks the kernel to SIGTERM the child when the process that started it dies, so a
test run killed with SIGKILL still leaves nothing behind.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _set_parent_death_signal() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _child_setup(user: str | None, die_with_parent: bool) -> Callable[[], None] | None:
    """Runs in the child before exec: drop to ``user``, then ask for the parent-death signal.

    The order matters: the kernel clears the parent-death signal when the process
    changes user, so Popen's own ``user=`` (applied after preexec_fn) would undo it.
    """
    if user is None and not die_with_parent:
        return None
    account = pwd.getpwnam(user) if user else None

    def setup() -> None:
        if account is not None:
            os.initgroups(account.pw_name, account.pw_gid)
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
        if die_with_parent:
            _set_parent_death_signal()

    return setup


class ManagedProcess:
    """One long-running child process with its log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.user = user
        self.die_with_parent = die_with_parent
        self.popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_child_setup(self.user, self.die_with_parent),
            )
        finally:
            log.close()

    def record(self) -> dict:
        """What ``stop_recorded_process`` needs to stop this process from another one."""
        return {"pgid": self.pid, "started": process_start_ticks(self.pid)}

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after ``timeout``."""
        if self.popen is None:
            return
        stop_process_group(self.popen.pid, timeout)
        try:
            self.popen.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        self.popen = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def stop_process_group(pgid: int, timeout: float = 10.0) -> None:
    """Stop a process group started by this project (its leader's pid is the pgid)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _group_alive(pgid):
                return
            time.sleep(0.05)


def stop_recorded_process(record: dict) -> bool:
    """Stop a process group recorded by ``ManagedProcess.record()`` in another process.

    The pid may have been reused since it was recorded (a stale state file), so the
    group is stopped only if its leader is the very process recorded: same start time.
    """
    if record.get("started") is None or process_start_ticks(record["pgid"]) != record["started"]:
        return False
    stop_process_group(record["pgid"])
    return True


def process_start_ticks(pid: int | None) -> int | None:
    """The process's start time since boot (``/proc/<pid>/stat`` field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, TypeError):
        return None
    # The command name (field 2) may contain spaces; fields after it follow the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # A zombie leader still "exists"; reap it if it is our child.
    try:
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str, process: ManagedProcess | None = None) -> None:
    """Poll ``check`` until true; fail with the process log when it dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.running():
            raise RuntimeError(f"{what}: process exited early\n{process.log_tail()}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - a probe failing just means "not ready yet"
            pass
        time.sleep(0.1)
    tail = process.log_tail() if process else ""
    raise TimeoutError(f"{what}: not ready after {timeout:.0f}s\n{tail}")
