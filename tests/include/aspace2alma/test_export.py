"""The export on realistic records: one golden test per record case of the stand-in's data.

The stand-in's `Dataset` generates ASpace exports whose case (normal, long 520, no
856, excluded, two 856s, missing 099/008/041, near-miss call number, no containers)
cycles with the resource index; each case combines the rules differently. Its
`ResourceFacts` say what the export must contain.
"""

from __future__ import annotations

import json

import pytest
from lxml import etree

from devstack.aspace_standin.data import RECORD_CASES, Dataset, solr_doc
from include.aspace2alma.export import ExportAborted, ExportSummary, export_records, process_resource
from include.aspace2alma.selection import exclusion_list
from tests.include.aspace2alma.marc_builders import M, fields, tags

DATASET = Dataset(seed=7, repositories=2, resources=36, containers=400)
REPORT = frozenset(list(DATASET.iter_barcodes())[::4])


class DatasetSource:
    def __init__(self, dataset=DATASET, failing=()):
        self.dataset = dataset
        self.failing = set(failing)
        self.container_requests = 0

    def repositories(self):
        return self.dataset.repositories()

    def resource_ids(self, uri):
        return self.dataset.resource_ids(int(uri.rsplit("/", 1)[1]))

    def resource_marc_xml(self, uri, resource_id):
        if resource_id in self.failing:
            raise ConnectionError(f"reset while fetching {resource_id}")
        return self.dataset.marc_xml(int(uri.rsplit("/", 1)[1]), resource_id)

    def top_containers(self, uri, resource_uri):
        self.container_requests += 1
        repo_id, resource_id = int(uri.rsplit("/", 1)[1]), int(resource_uri.rsplit("/", 1)[1])
        return [json.loads(solr_doc(tc)["json"]) for tc in self.dataset.top_containers(repo_id, resource_id)]


def _first_resource_of_case(case):
    return next(ref for ref in DATASET.iter_resources() if DATASET.resource(*ref).case == case)


@pytest.mark.parametrize("case", sorted(set(RECORD_CASES)))
def test_golden_record_per_case(case):
    repo_id, resource_id = _first_resource_of_case(case)
    facts = DATASET.resource(repo_id, resource_id)
    outcome = process_resource(
        DatasetSource(), f"/repositories/{repo_id}", resource_id,
        report_barcodes=REPORT, excluded=exclusion_list(None), resource_errors=(ConnectionError,),
    )  # fmt: skip
    if facts.is_data_error:
        assert outcome.status == "errored" and "RecordDataError: missing" in outcome.reason
        return
    if not facts.is_exported:
        assert outcome.status == "excluded"
        return
    assert outcome.status == "written"
    record = etree.fromstring(outcome.record)
    cn = facts.call_number
    assert tags(record)[:4] == ["001", "003", "008", "035"]
    assert record[1].text == cn and record[2].text == "PULFA"
    assert fields(record, "035") == [[("a", f"(PULFA){cn}")]]
    assert fields(record, "040") == [[("a", "NjP"), ("b", "eng"), ("e", "dacs"), ("c", "NjP")]]
    assert fields(record, "046") == [[("a", "i"), ("c", facts.date_begin), ("e", facts.date_end)]]
    assert tags(record).index("046") == tags(record).index("041") + 1
    if facts.bulk_dates:
        assert ("g", f"(mostly {facts.bulk_dates})") in fields(record, "245")[0]
    assert all(len(f[0][1]) <= 7999 for f in fields(record, "520"))
    if facts.long_520:
        assert any(len(f[0][1]) == 7999 for f in fields(record, "520"))
    assert not set(tags(record)) & {"049", "852", "351", "500", "524", "535", "540", "541", "544", "561", "583"}
    links = fields(record, "856")
    assert links[0] == [
        ("z", "Search and Request"),
        ("u", facts.finding_aid_url),
        ("y", "Princeton University Library Finding Aids"),
    ]
    assert len(links) == (2 if case == "two_856" else 1)
    assert [f[0][1] for f in fields(record, "982")] == list(facts.location_note_codes)
    items = [dict(f) for f in fields(record, "949")]
    assert items == facts.expected_items(REPORT)
    assert tags(record)[-len(items) :] == ["949"] * len(items) if items else True
    for field in record.iterchildren(f"{M}datafield"):
        for sub in field:
            assert "\n" not in (sub.text or "") and "\r" not in (sub.text or "")
            if field.get("tag") in ("600", "610", "630", "650", "651", "655", "700"):
                assert " -- " not in (sub.text or "")
                assert not (sub.get("code") == "0" and "viaf" in sub.text)
                assert not (sub.get("code") == "2" and sub.text == "viaf")


def test_the_whole_export_counts_every_resource_and_fetches_containers_only_for_selected_records():
    source, summary = DatasetSource(), ExportSummary()
    records = list(
        export_records(source, summary, report_barcodes=REPORT, excluded=exclusion_list(None), concurrency=4)
    )
    facts = [DATASET.resource(*ref) for ref in DATASET.iter_resources()]
    assert summary.repositories == 2
    assert summary.resources_seen == len(facts) == 36
    assert summary.resources_written == len(records) == sum(f.is_exported for f in facts)
    assert summary.resources_errored == sum(f.is_data_error for f in facts)
    assert summary.resources_excluded == len(facts) - summary.resources_written - summary.resources_errored
    assert summary.items_created == sum(len(f.expected_items(REPORT)) for f in facts if f.is_exported)
    assert summary.containers_seen == sum(len(f.containers) for f in facts if f.is_exported)
    assert source.container_requests == summary.resources_written
    written = [etree.fromstring(r)[1].text for r in records]
    assert written == [f.call_number for f in facts if f.is_exported]  # resource order, no duplicates


def test_one_failing_resource_is_skipped_and_named():
    bad = DATASET.resource_ids(2)[0]
    summary = ExportSummary()
    list(export_records(
        DatasetSource(failing={bad}), summary, report_barcodes=REPORT, excluded=exclusion_list(None),
        concurrency=2, resource_errors=(ConnectionError,),
    ))  # fmt: skip
    assert f"/repositories/2/resources/{bad}" in summary.errored_uris


def test_a_failing_server_aborts_the_export():
    every = {rid for ref in [DATASET.iter_resources()] for _, rid in ref}
    with pytest.raises(ExportAborted, match="5 resources failed in a row"):
        list(export_records(
            DatasetSource(failing=every), ExportSummary(), report_barcodes=REPORT, excluded=exclusion_list(None),
            concurrency=2, resource_errors=(ConnectionError,), max_consecutive_errors=5,
        ))  # fmt: skip
