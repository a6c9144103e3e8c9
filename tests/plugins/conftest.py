"""Point Airflow at the repository's plugins folder.

Airflow reads its configuration when first imported, so this runs at import time,
before any test module here imports airflow.
"""

from __future__ import annotations

import os
from pathlib import Path

PLUGINS_DIR = Path(__file__).resolve().parents[2] / "plugins"

os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PLUGINS_DIR)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
