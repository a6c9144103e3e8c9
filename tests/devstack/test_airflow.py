"""How the devstack points Airflow at itself (devstack/airflow.py)."""

from __future__ import annotations

import os
import uuid

from devstack.airflow import airflow_command, move_variables_into_metadata_db


def _variable(key: str) -> str:
    from airflow.models import Variable

    return Variable.get(key)


def test_make_run_seeds_variables_into_the_metadata_db_and_keeps_edited_ones(airflow_db):
    fresh, edited = f"fresh_{uuid.uuid4().hex[:8]}", f"edited_{uuid.uuid4().hex[:8]}"
    # the session's Airflow settings, without the project's Variables (other tests remove
    # those from the environment to see a missing Variable; they must not land in the DB)
    env = {
        key: value
        for key, value in os.environ.items()
        if key.startswith("AIRFLOW_") and not key.startswith("AIRFLOW_VAR_")
    }
    airflow_command(["variables", "set", edited, "changed in the UI"], env)
    env |= {f"AIRFLOW_VAR_{fresh.upper()}": '{"a": 1}', f"AIRFLOW_VAR_{edited.upper()}": "from the settings file"}

    remaining = move_variables_into_metadata_db(env)

    assert not [key for key in remaining if key.startswith("AIRFLOW_VAR_")]  # nothing left to shadow the DB
    assert _variable(fresh) == '{"a": 1}'
    assert _variable(edited) == "changed in the UI"  # an operator's edit survives the next `make run`
