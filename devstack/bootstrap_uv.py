"""Put the pinned uv at ``<folder>/uv`` using nothing but the standard library.

The Makefile's first step. A stock Debian 12 Python has no pip and refuses installs into
itself (PEP 668, "externally managed"), so uv cannot be pip-installed there. Instead:
the uv of this Python is linked when it is the pinned version; otherwise the pinned uv
wheel for this machine is fetched from PyPI, checked against the sha256 PyPI publishes
for it, and its ``uv`` binary unpacked. Written by hand because the tools that would do
this (pip, pipx, uv itself) are exactly what is missing.

    python3 devstack/bootstrap_uv.py 0.13.8 .tools
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

PYPI_PROJECT = "https://pypi.org/simple/uv/"  # PEP 691: the file list with each file's sha256
PYPI_JSON = "application/vnd.pypi.simple.v1+json"
MACHINE_TAGS = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def installed_uv(version: str) -> Path | None:
    """The uv binary of this Python's ``uv`` package, when it is ``version``."""
    try:
        import uv  # optional: present where pip could install it
    except ImportError:
        return None
    binary = Path(uv.find_uv_bin())
    answer = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.split()
    return binary if answer[1:2] == [version] else None


def wheel_for_this_machine(files: list[dict], version: str) -> dict:
    """The manylinux wheel of ``version`` for this CPU, from PyPI's file list."""
    machine = MACHINE_TAGS.get(platform.machine().lower())
    if sys.platform != "linux" or machine is None:
        raise SystemExit(f"no uv wheel chosen for {sys.platform}/{platform.machine()}: install uv {version} yourself")
    for entry in files:
        name = entry["filename"]
        if name.startswith(f"uv-{version}-") and "manylinux" in name and name.endswith(f"_{machine}.whl"):
            return entry
    raise SystemExit(f"PyPI lists no manylinux {machine} wheel for uv {version}")


def download_uv(version: str, target: Path) -> None:
    request = urllib.request.Request(PYPI_PROJECT, headers={"Accept": PYPI_JSON})
    with urllib.request.urlopen(request, timeout=60) as response:
        project = json.load(response)
    wheel = wheel_for_this_machine(project["files"], version)
    with urllib.request.urlopen(wheel["url"], timeout=300) as response:
        content = response.read()
    digest = hashlib.sha256(content).hexdigest()
    if digest != wheel["hashes"]["sha256"]:
        raise SystemExit(f"{wheel['filename']}: sha256 {digest} is not the one PyPI publishes; not installed")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        binary = archive.read(f"uv-{version}.data/scripts/uv")
    partial = target.with_suffix(".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)  # never a half-written uv in place


def main(version: str, folder: str) -> None:
    target = Path(folder) / "uv"
    target.parent.mkdir(parents=True, exist_ok=True)
    found = installed_uv(version)
    if found is not None:
        if target.is_symlink() or target.exists():
            target.unlink()
        os.symlink(found, target)
        return
    print(f"fetching uv {version} from PyPI (this Python has no uv {version})", file=sys.stderr)
    download_uv(version, target)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: bootstrap_uv.py VERSION FOLDER")
    main(sys.argv[1], sys.argv[2])
