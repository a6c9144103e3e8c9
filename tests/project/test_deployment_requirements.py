"""A deployment installs what the tests ran on: constraints.txt is the lock's versions of every
package requirements.txt pulls in, the Dockerfile installs with it, and requirements.txt leaves
the runtime image's Airflow alone."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            found[_name(match.group(1))] = match.group(2)
    return found


def test_constraints_are_the_locks_versions():
    lock, constraints = pins(REPO_ROOT / "requirements.lock"), pins(REPO_ROOT / "constraints.txt")
    differing = {name: (version, lock.get(name)) for name, version in constraints.items() if lock.get(name) != version}
    assert not differing, f"constraints.txt differs from requirements.lock (run `make lock`): {differing}"


def test_every_direct_requirement_is_constrained_at_its_pin():
    constraints = pins(REPO_ROOT / "constraints.txt")
    for name, version in pins(REPO_ROOT / "requirements.txt").items():
        assert constraints.get(name) == version, f"{name}=={version} not in constraints.txt (run `make lock`)"


def test_constraints_hold_airflow_at_the_tested_version():
    tested = pins(REPO_ROOT / "requirements-dev.txt")["apache-airflow"]
    assert pins(REPO_ROOT / "requirements.lock")["apache-airflow"] == tested
    assert pins(REPO_ROOT / "constraints.txt")["apache-airflow"] == tested


def test_requirements_do_not_repin_the_runtime_images_airflow():
    names = {_name(line.split("=")[0]) for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()}
    assert "apache-airflow" not in names and "apache-airflow-core" not in names


def test_dockerfile_installs_with_the_constraints_and_the_image_keeps_them():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^RUN pip install .*-r requirements\.txt -c constraints\.txt", dockerfile, re.M)
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert "constraints.txt" not in ignored and "requirements.txt" not in ignored
