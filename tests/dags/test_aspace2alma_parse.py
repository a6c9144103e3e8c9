"""Parsing dags/aspace2alma.py stays cheap, and Airflow's plugin loader leaves the plugins package alone.

Checked in a fresh interpreter, as a dag-processor child parses a file: the test
process itself has long imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devstack.settings import PLUGINS_FOLDER, REPO_ROOT

# Imported only when a task runs: the SFTP provider pulls in paramiko and asyncssh (most of
# a second on every parse), urllib3 takes ~0.1 s, lxml is the export's.
HEAVY_MODULES = ("airflow.providers.sftp.hooks.sftp", "paramiko", "asyncssh", "urllib3", "lxml")
PROBE = """
import json, sys
from airflow import plugins_manager
from airflow.dag_processing.dagbag import DagBag

dag_file, plugins_folder, heavy = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
bag = DagBag(dag_folder=dag_file)
loaded_by_parse = sorted(name for name in heavy if name in sys.modules)
plugins_manager.ensure_plugins_loaded()
print(json.dumps({
    "dag_ids": sorted(bag.dags),
    "import_errors": {**bag.import_errors, **plugins_manager.get_import_errors()},
    "heavy_loaded_by_parse": loaded_by_parse,
    "plugins": sorted(plugin["name"] for plugin in plugins_manager.get_plugin_info()),
    "top_level_modules_from_plugins_folder": sorted(
        name for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").startswith(plugins_folder)
        and not name.startswith("preservation_pipelines")
        and not name.endswith("_plugin")  # the plugin files themselves are the loader's to execute
    ),
}))
"""


@pytest.fixture(scope="module")
def probe():
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(REPO_ROOT / "dags" / "aspace2alma.py"), str(PLUGINS_FOLDER),
         ",".join(HEAVY_MODULES)],
        env=os.environ, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_parsing_the_dag_file_imports_none_of_the_task_time_modules(probe):
    assert probe["import_errors"] == {}
    assert probe["dag_ids"] == ["aspace2alma", "aspace2alma_deadline_check", "aspace2alma_skip_day_cleanup"]
    assert probe["heavy_loaded_by_parse"] == []


def test_the_plugin_loader_executes_no_package_module_as_a_top_level_module(probe):
    assert probe["top_level_modules_from_plugins_folder"] == []


def test_the_plugins_load_without_errors(probe):
    assert "preservation_pipelines_run_notes" in probe["plugins"]
