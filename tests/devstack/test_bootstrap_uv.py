"""The uv bootstrap of a pip-less Python: the right wheel, its sha256 checked, nothing half-written."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from devstack import bootstrap_uv

VERSION = "0.13.8"
FILES = [
    {"filename": f"uv-{VERSION}.tar.gz"},
    {"filename": f"uv-{VERSION}-py3-none-musllinux_1_1_x86_64.whl"},
    {"filename": f"uv-{VERSION}-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"},
    {"filename": f"uv-{VERSION}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
    {"filename": "uv-0.13.7-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"},
]


def test_the_manylinux_wheel_of_the_pinned_version_for_this_cpu_is_chosen(monkeypatch):
    monkeypatch.setattr(bootstrap_uv.platform, "machine", lambda: "x86_64")
    assert bootstrap_uv.wheel_for_this_machine(FILES, VERSION)["filename"] == FILES[3]["filename"]
    monkeypatch.setattr(bootstrap_uv.platform, "machine", lambda: "aarch64")
    assert bootstrap_uv.wheel_for_this_machine(FILES, VERSION)["filename"] == FILES[2]["filename"]
    monkeypatch.setattr(bootstrap_uv.platform, "machine", lambda: "riscv64")
    with pytest.raises(SystemExit, match="install uv 0.13.8 yourself"):
        bootstrap_uv.wheel_for_this_machine(FILES, VERSION)


def _pypi(monkeypatch, published_sha256: str | None = None) -> bytes:
    """PyPI as the bootstrap sees it: the PEP 691 file list, then the wheel."""
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"uv-{VERSION}.data/scripts/uv", b"#!/bin/sh\necho uv\n")
    content = wheel.getvalue()
    listing = {
        "files": [
            {
                "filename": FILES[3]["filename"],
                "url": "https://files.example/uv.whl",
                "hashes": {"sha256": published_sha256 or hashlib.sha256(content).hexdigest()},
            }
        ]
    }

    def urlopen(request, timeout):
        url = getattr(request, "full_url", request)
        return io.BytesIO(json.dumps(listing).encode() if url == bootstrap_uv.PYPI_PROJECT else content)

    monkeypatch.setattr(bootstrap_uv.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(bootstrap_uv.urllib.request, "urlopen", urlopen)
    return content


def test_the_binary_is_unpacked_executable_when_its_sha256_is_the_published_one(monkeypatch, tmp_path):
    _pypi(monkeypatch)
    bootstrap_uv.download_uv(VERSION, tmp_path / "uv")
    assert (tmp_path / "uv").read_bytes().startswith(b"#!/bin/sh") and (tmp_path / "uv").stat().st_mode & 0o111


def test_a_wheel_whose_sha256_differs_is_refused_and_nothing_is_left(monkeypatch, tmp_path):
    _pypi(monkeypatch, published_sha256="0" * 64)
    with pytest.raises(SystemExit, match="is not the one PyPI publishes"):
        bootstrap_uv.download_uv(VERSION, tmp_path / "uv")
    assert list(tmp_path.iterdir()) == []
