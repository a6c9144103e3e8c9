"""The drop-box operators' params: out of bounds, they fail at once without touching the drop box."""

from __future__ import annotations

import pytest

from tests.dags.aspace2alma_support import FOLDER, FRIDAY, dropbox, write_report  # noqa: F401 - fixture


@pytest.mark.parametrize(
    ("params", "message"),
    [({"min_ratio": "2"}, "min_report_ratio is 2.0, outside 0..1"), ({"fresh_after": "3:00"}, "report_fresh_after")],
)
def test_consume_report_refuses_params_out_of_bounds_and_leaves_the_report(dropbox, params, message):
    from airflow.sdk.exceptions import AirflowFailException

    from preservation_pipelines.aspace2alma.operators.dropbox import ConsumeBarcodeReportOperator

    write_report(dropbox, modified=FRIDAY)
    with pytest.raises(AirflowFailException, match=message):
        ConsumeBarcodeReportOperator(task_id="consume_report", folder=FOLDER, **params).execute(
            {"logical_date": FRIDAY}
        )
    assert (dropbox / "sc_active_barcodes.csv").exists()
