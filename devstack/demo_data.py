"""Demo data for `make run` and `make demo`: what each DAG needs to find on the devstack.

Each pipeline keeps its seeding in a module ``devstack/demo_seed_<pipeline>.py`` with
``seed(stack) -> {dag_id: run conf}``; this module runs them all and merges the
confs `make demo` passes to each DAG.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import devstack
from devstack.stack import Devstack


def seed_demo_data(stack: Devstack) -> dict[str, dict[str, Any]]:
    confs: dict[str, dict[str, Any]] = {}
    for module_info in pkgutil.iter_modules(devstack.__path__):
        if module_info.name.startswith("demo_seed_"):
            module = importlib.import_module(f"devstack.{module_info.name}")
            confs.update(module.seed(stack))
    return confs
