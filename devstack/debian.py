"""The Debian packages the devstack's servers come from, installed on demand.

On a fresh machine of this project's kind (Debian, root) the first `make run`,
`make demo` or `make test` installs what is missing; elsewhere it says what to install.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devstack.servers import POSTGRES_BIN

# package -> a file that proves it is installed
REQUIRED = {
    "openssh-server": Path("/usr/sbin/sshd"),
    "openssh-client": Path("/usr/bin/ssh-keygen"),
    "zookeeper": Path("/usr/share/java/zookeeper.jar"),
    "default-jre-headless": Path("/usr/bin/java"),
    "postgresql-15": POSTGRES_BIN / "postgres",
    "postgresql-client-15": Path("/usr/bin/psql"),
}


# only for the UI tests of tests/ops
BROWSER = {
    "chromium": Path("/usr/bin/chromium"),
    "chromium-driver": Path("/usr/bin/chromedriver"),
}


# only for the CeleryExecutor run of tests/ops (the broker)
CELERY_BROKER = {"redis-server": Path("/usr/bin/redis-server")}


def missing_packages(required: dict[str, Path]) -> list[str]:
    return [package for package, marker in required.items() if not marker.exists()]


def ensure_debian_packages(required: dict[str, Path] = REQUIRED) -> None:
    missing = missing_packages(required)
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"devstack needs these Debian packages: sudo apt-get install -y {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)
