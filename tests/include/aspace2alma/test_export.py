"""The export on realistic records: one golden test per record case of the stand-in's data.

The stand-in's `Dataset` generates ASpace exports whose case (normal, long 520, no
856, excluded, two 856s, missing 099/008/041, near-miss call number, no containers)
cycles with the resource index; each case combines the rules differently. Its
`ResourceFacts` say what the export must contain.
"""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from lxml import etree

from devstack.aspace_standin.data import RECORD_CASES, Dataset, solr_doc
from include.aspace2alma import export
from include.aspace2alma.aspace_data import collect_top_containers, top_container
from include.aspace2alma.export import ExportAborted, ExportSummary, TooManyFailed, export_records, process_resource
from include.aspace2alma.marcxml import stream_collection
from include.aspace2alma.selection import exclusion_list
from tests.include.aspace2alma.hostile_strategies import SEARCH_DOCS, marc_exports
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
        return [top_container(solr_doc(tc), resource_uri) for tc in self.dataset.top_containers(repo_id, resource_id)]


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
    assert f"/repositories/2/resources/{bad}" in summary.errored
    assert summary.errored[f"/repositories/2/resources/{bad}"] == f"ConnectionError: reset while fetching {bad}"
    assert summary.resources_failed == 1
    assert summary.resources_errored == 1 + sum(
        DATASET.resource(*ref).is_data_error for ref in DATASET.iter_resources()
    )


def test_incomplete_records_are_named_but_not_counted_as_failed():
    summary = ExportSummary()
    list(export_records(DatasetSource(), summary, report_barcodes=REPORT, excluded=exclusion_list(None), concurrency=2))
    incomplete = [DATASET.resource(*ref) for ref in DATASET.iter_resources() if DATASET.resource(*ref).is_data_error]
    assert summary.resources_failed == 0 and summary.resources_errored == len(incomplete) == 9
    assert {uri: reason.split(":")[0] for uri, reason in summary.errored.items()} == {
        facts.uri: "RecordDataError" for facts in incomplete
    }


def _export_with_failing(count, max_failed_ratio):
    failing = [rid for _, rid in DATASET.iter_resources()][:count]
    summary = ExportSummary()
    records = export_records(
        DatasetSource(failing=failing), summary, report_barcodes=REPORT, excluded=exclusion_list(None),
        concurrency=2, resource_errors=(ConnectionError,), max_failed_ratio=max_failed_ratio,
    )  # fmt: skip
    return list(stream_collection(records)), summary, failing


def test_failures_up_to_the_limit_give_the_file_without_them():
    chunks, summary, failing = _export_with_failing(3, max_failed_ratio=3 / 36)
    assert summary.resources_failed == 3 and chunks[-1].endswith(b"</collection>\n")
    assert {f"/repositories/2/resources/{rid}" for rid in failing} <= set(summary.errored)


def test_more_failures_than_the_limit_end_the_export_listing_each_with_its_reason():
    with pytest.raises(
        TooManyFailed, match=r"^4 of 36 resources failed \(11.1%\), above the limit of 10.0%:\n"
    ) as error:
        _export_with_failing(4, max_failed_ratio=0.1)
    failing = [rid for _, rid in DATASET.iter_resources()][:4]
    assert str(error.value).splitlines()[1:] == [
        f"/repositories/2/resources/{rid}: ConnectionError: reset while fetching {rid}" for rid in failing
    ]


def test_a_failing_server_aborts_the_export():
    every = {rid for ref in [DATASET.iter_resources()] for _, rid in ref}
    with pytest.raises(ExportAborted, match="5 resources failed in a row"):
        list(export_records(
            DatasetSource(failing=every), ExportSummary(), report_barcodes=REPORT, excluded=exclusion_list(None),
            concurrency=2, resource_errors=(ConnectionError,), max_consecutive_errors=5,
        ))  # fmt: skip


class HostileSource:
    """Answers drawn by Hypothesis: one MARC export and one search page per resource."""

    def __init__(self, answers):
        self.answers = answers  # [(marc bytes, search page payload)], resource ids 1..n of repository 2

    def repositories(self):
        return [{"uri": "/repositories/2"}]

    def resource_ids(self, uri):
        return list(range(1, len(self.answers) + 1))

    def resource_marc_xml(self, uri, resource_id):
        return self.answers[resource_id - 1][0]

    def top_containers(self, uri, resource_uri):
        page = json.dumps(self.answers[int(resource_uri.rsplit("/", 1)[1]) - 1][1]).encode()
        return collect_top_containers(lambda start: page, f"search for {resource_uri}")


_SEARCH_PAGES = st.lists(SEARCH_DOCS, max_size=4).map(lambda docs: {"response": {"numFound": len(docs), "docs": docs}})
ANSWER = st.tuples(marc_exports(), _SEARCH_PAGES)


@given(ANSWER)
def test_any_resource_gives_a_record_or_is_skipped_by_name_with_its_reason(answer):
    outcome = process_resource(
        HostileSource([answer]),
        "/repositories/2",
        1,
        report_barcodes=frozenset(),
        excluded=frozenset(),
        resource_errors=(),
    )
    assert outcome.uri == "/repositories/2/resources/1"
    event(f"{outcome.status}{' with items' if outcome.items else ''}")  # shown by --hypothesis-show-statistics
    if outcome.status == "written":
        assert etree.fromstring(outcome.record).tag == f"{M}record"
    else:
        assert outcome.status in ("excluded", "errored") and outcome.reason and not outcome.record


@settings(max_examples=50)  # each example is a whole export of up to 4 resources
@given(st.lists(ANSWER, min_size=1, max_size=4))
def test_the_exported_collection_is_always_well_formed_with_at_most_one_record_per_resource(answers):
    summary = ExportSummary()
    records = export_records(
        HostileSource(answers), summary, report_barcodes=frozenset(), excluded=frozenset(), concurrency=2
    )
    collection = etree.fromstring(b"".join(stream_collection(records)))
    assert collection.tag == f"{M}collection"
    assert len(collection) == summary.resources_written <= summary.resources_seen == len(answers)
    assert summary.resources_seen == (
        summary.resources_written + summary.resources_excluded + summary.resources_errored
    )
    assert set(summary.errored) <= {f"/repositories/2/resources/{n}" for n in range(1, len(answers) + 1)}


def _skipped_lines(caplog):
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith("skipped ")]


def test_the_log_names_every_skipped_resource_with_its_reason_a_few_to_a_line(caplog, monkeypatch):
    monkeypatch.setattr(export, "SKIPPED_PER_LOG_LINE", 4)
    bad = DATASET.resource_ids(2)[0]
    summary = ExportSummary()
    with caplog.at_level(logging.WARNING, logger="aspace2alma-test"):
        list(export_records(
            DatasetSource(failing={bad}), summary, report_barcodes=REPORT, excluded=exclusion_list(None),
            concurrency=2, resource_errors=(ConnectionError,), logger=logging.getLogger("aspace2alma-test"),
        ))  # fmt: skip
    lines = _skipped_lines(caplog)
    named = [entry for line in lines for entry in line.splitlines()[1:]]
    assert named == [f"{uri}: {reason}" for uri, reason in summary.errored.items()]  # every one, in resource order
    assert [line.splitlines()[0] for line in lines] == ["skipped 4 resources:"] * 2 + ["skipped 2 resources:"]


def test_an_aborted_export_still_logs_the_skipped_resources_it_saw(caplog):
    every = {rid for _, rid in DATASET.iter_resources()}
    with caplog.at_level(logging.WARNING, logger="aspace2alma-test"), pytest.raises(ExportAborted):
        list(export_records(
            DatasetSource(failing=every), ExportSummary(), report_barcodes=REPORT, excluded=exclusion_list(None),
            concurrency=2, resource_errors=(ConnectionError,), max_consecutive_errors=5,
            logger=logging.getLogger("aspace2alma-test"),
        ))  # fmt: skip
    assert [line.splitlines()[0] for line in _skipped_lines(caplog)] == ["skipped 5 resources:"]
