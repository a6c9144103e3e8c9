"""ArchivesSpaceToAlmaOperator on the real sshd and stand-in: what fails at once, uploading nothing."""

from __future__ import annotations

import re

import pytest

from tests.dags.aspace2alma_support import (  # noqa: F401 - fixtures
    DATASET,
    FOLDER,
    FRIDAY,
    RequestCatcher,
    dropbox,
    standin,
    write_report,
)


def _export(**kwargs):
    from preservation_pipelines.aspace2alma.operators.export import ArchivesSpaceToAlmaOperator

    return ArchivesSpaceToAlmaOperator(task_id="export_to_alma", folder=FOLDER, **kwargs)


@pytest.fixture
def consumed_report(dropbox):
    write_report(dropbox, name="sc_active_barcodes_old.csv", modified=FRIDAY)
    return dropbox


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"concurrency": "0"}, "concurrency is 0, outside 1..32"),
        ({"concurrency": "100000"}, "concurrency is 100000, outside 1..32"),
        ({"max_failed_ratio": "1.5"}, "max_failed_ratio is 1.5, outside 0..1"),
        ({"max_failed_ratio": "nan"}, "max_failed_ratio is nan"),
        ({"fresh_after": "25:00"}, "report_fresh_after is '25:00'"),
    ],
)
def test_params_out_of_bounds_fail_at_once_before_any_request(standin, consumed_report, params, message):
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match=re.escape(message)):
        _export(**params).execute({"logical_date": FRIDAY})
    assert standin.admin("stats")["total_requests"] == 0


def test_a_crafted_repository_uri_fails_at_once_naming_it_and_uploads_nothing(standin, consumed_report):
    from airflow.sdk.exceptions import AirflowFailException

    with RequestCatcher() as catcher:
        uri = f"@{catcher.authority}/repositories/2"
        standin.admin("faults", {"crafted_uri": {"rate": 1.0, "uri": uri}})
        with pytest.raises(AirflowFailException, match=f"listings are unusable: .*{re.escape(repr(uri))}"):
            _export().execute({"logical_date": FRIDAY})
        assert catcher.requests == []
    assert not (consumed_report / "MARC_out.xml").exists()


def test_more_failed_resources_than_the_limit_fail_at_once_listing_them_and_upload_nothing(standin, consumed_report):
    from airflow.sdk.exceptions import AirflowFailException

    broken = [resource_id for _, resource_id in DATASET.iter_resources()][:3]  # 3 of 48: 6.25%, above 5%
    standin.admin("faults", {"invalid_xml": {"resource_ids": broken}})
    with pytest.raises(AirflowFailException, match=r"nothing uploaded: 3 of 48 resources failed \(6.2%\)") as error:
        _export().execute({"logical_date": FRIDAY})
    for resource_id in broken:
        assert f"/repositories/2/resources/{resource_id}: MarcXmlError: " in str(error.value)
    assert "trigger again with a higher max_failed_ratio" in str(error.value)
    assert not (consumed_report / "MARC_out.xml").exists()

    summary = _export(max_failed_ratio="0.1").execute({"logical_date": FRIDAY})  # the same failures, accepted
    assert summary["resources_failed"] == 3 and (consumed_report / "MARC_out.xml").exists()
    assert {f"/repositories/2/resources/{resource_id}" for resource_id in broken} <= set(summary["errored"])
