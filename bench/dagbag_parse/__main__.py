"""DagBag parse time of the whole dags/ folder, side by side with ``import airflow``.

Each sample is a fresh interpreter, as a dag-processor child is: it times
``import airflow`` (with the DagBag class), then parsing dags/ into a DagBag, and
prints both. Medians over several samples are compared. Target: parsing the whole
folder costs under 1 s beyond ``import airflow``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

from devstack.settings import PLUGINS_FOLDER, REPO_ROOT

SAMPLES = 7
TARGET_SECONDS = 1.0
SAMPLE_CODE = (
    f"DAGS_FOLDER = {str(REPO_ROOT / 'dags')!r}\n"
    + """
import json, time
began = time.perf_counter()
import airflow
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter()
bag = DagBag(dag_folder=DAGS_FOLDER)
parsed = time.perf_counter()
assert not bag.import_errors, bag.import_errors
print(json.dumps({"import": imported - began, "parse": parsed - imported, "dags": len(bag.dags)}))
"""
)


def sample(env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", SAMPLE_CODE], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
            "PYTHONPATH": str(REPO_ROOT),
        }
        sample(env)  # warm-up: OS file cache, airflow.cfg written once
        samples = [sample(env) for _ in range(SAMPLES)]
    imported = statistics.median(s["import"] for s in samples)
    parsed = statistics.median(s["parse"] for s in samples)
    print(f"DAGs parsed: {samples[0]['dags']} from dags/, {SAMPLES} fresh interpreters")
    print(f"import airflow (+ DagBag class) median {imported:6.3f} s")
    print(f"parse of dags/ into a DagBag    median {parsed:6.3f} s   ratio parse/import {parsed / imported:4.2f}")
    verdict = "OK" if parsed < TARGET_SECONDS else "MISSED"
    print(f"target: parse < {TARGET_SECONDS:.1f} s beyond import: {verdict}")
    return 0 if parsed < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
