"""The stand-in's generated data: deterministic, lazy, and covering every case of aspace2alma.md."""

from __future__ import annotations

import io
import json
import re
import time

import pymarc
import pytest
from lxml import etree

from devstack.aspace_standin.data import (
    DEFAULT_EXCLUDED_CALL_NUMBERS,
    DELETABLE_TAGS,
    NEAR_MISS_CALL_NUMBERS,
    RECAP_LOCATION,
    Dataset,
    solr_doc,
    top_container_json,
)

MARC = "http://www.loc.gov/MARC21/slim"
SUBJECT_TAGS = ("600", "610", "630", "648", "650", "651", "655", "656", "657", "700")
LOCATION_NOTE = re.compile(r"^Location of resource: ((?:(?:sca)?[a-z]+ ?)+)\.$")


@pytest.fixture(scope="module", params=[0, 7], ids=["seed0", "seed7"])
def small(request) -> Dataset:
    return Dataset(seed=request.param, repositories=3, resources=36, containers=400)


def _records(dataset: Dataset) -> list[tuple[object, pymarc.Record, bytes]]:
    out = []
    for repo_id, resource_id in dataset.iter_resources():
        xml = dataset.marc_xml(repo_id, resource_id)
        (record,) = pymarc.parse_xml_to_array(io.BytesIO(xml))
        out.append((dataset.resource(repo_id, resource_id), record, xml))
    return out


@pytest.fixture(scope="module")
def records(small) -> list[tuple[object, pymarc.Record, bytes]]:
    return _records(small)


def _fields(records, *tags):
    return [f for _, record, _ in records for f in record.get_fields(*tags)]


# -- determinism and layout ----------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes():
    first, again, other = (Dataset(seed=s, resources=20, containers=100) for s in (3, 3, 4))
    ids = list(first.iter_resources())
    assert ids == list(again.iter_resources())
    for repo_id, resource_id in ids:
        assert first.marc_xml(repo_id, resource_id) == again.marc_xml(repo_id, resource_id)
        docs = [json.dumps(solr_doc(tc)) for tc in first.top_containers(repo_id, resource_id)]
        assert docs == [json.dumps(solr_doc(tc)) for tc in again.top_containers(repo_id, resource_id)]
    assert list(first.iter_barcodes()) == list(again.iter_barcodes())
    other_marc = [other.marc_xml(*rid) for rid in other.iter_resources()]
    assert [first.marc_xml(*rid) for rid in ids] != other_marc
    assert set(first.iter_barcodes()).isdisjoint(other.iter_barcodes())


def test_resources_and_containers_are_spread_unevenly_and_add_up(small):
    repo_ids = small.repository_ids()
    assert repo_ids == [2, 3, 4]
    per_repo = [small.resource_ids(r) for r in repo_ids]
    assert sum(map(len, per_repo)) == 36 and len({len(ids) for ids in per_repo}) > 1
    all_ids = [i for ids in per_repo for i in ids]
    assert len(set(all_ids)) == 36 and all_ids == sorted(all_ids)
    counts = [small.container_total(r, i) for r, i in small.iter_resources()]
    assert sum(counts) == 400
    assert 0 in counts and max(counts) > 3 * (400 / 36)
    assert [r["uri"] for r in small.repositories()] == ["/repositories/2", "/repositories/3", "/repositories/4"]


def test_unknown_or_misplaced_resources_raise_key_error(small):
    repo_id, resource_id = next(small.iter_resources())
    other_repo = small.repository_ids()[-1]
    for bad in [(repo_id, 10**6), (other_repo, resource_id), (99, resource_id)]:
        assert not small.has_resource(*bad)
        with pytest.raises(KeyError):
            small.marc_xml(*bad)


def test_large_dataset_is_lazy():
    started = time.perf_counter()
    big = Dataset(seed=1, repositories=6, resources=10_000, containers=150_000)
    last_repo = big.repository_ids()[-1]
    last_resource = big.resource_ids(last_repo)[-1]
    facts = big.resource(last_repo, last_resource)
    assert big.marc_xml(last_repo, last_resource).count(b"<record>") == 1
    assert facts.index == 9_999
    assert time.perf_counter() - started < 2.0
    assert sum(big.container_total(r, i) for r, i in big.iter_resources()) == 150_000


def test_barcodes_are_unique_14_digit_princeton_barcodes():
    dataset = Dataset(seed=5, resources=200, containers=5_000)
    barcodes = list(dataset.iter_barcodes())
    assert len(barcodes) == len(set(barcodes))
    assert all(re.fullmatch(r"32101\d{9}", b) for b in barcodes)
    with_barcode = [tc.barcode for r in dataset.iter_resources() for tc in dataset.top_containers(*r) if tc.barcode]
    assert sorted(with_barcode) == sorted(barcodes)
    assert len(barcodes) < 5_000  # some containers have none


# -- MARC shape ------------------------------------------------------------------


def test_marc_is_a_slim_collection_with_one_raw_record(records):
    _, _, xml = records[0]
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim"')
    root = etree.fromstring(xml)
    assert root.tag == f"{{{MARC}}}collection"
    assert root.nsmap == {None: MARC, "marc": MARC, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    assert len(root) == 1 and root[0].tag == f"{{{MARC}}}record"
    assert root[0][0].tag == f"{{{MARC}}}leader"


def test_facts_match_the_marc(records):
    for facts, record, _ in records:
        assert bool(record.get_fields("099")) == facts.has_099
        assert bool(record.get_fields("008")) == facts.has_008
        assert bool(record.get_fields("041")) == facts.has_041
        assert bool(record.get_fields("856")) == facts.has_856
        if facts.has_099:
            assert record["099"]["a"] == facts.call_number
        if facts.has_008:
            value = record["008"].data
            assert len(value) == 40 and value[6] == "i"
            assert (value[7:11], value[11:15]) == (facts.date_begin, facts.date_end)
        if facts.has_856:
            assert record["856"]["u"] == facts.finding_aid_url
        notes = [f["a"] for f in record.get_fields("500") if f["a"].startswith("Location of resource:")]
        codes = tuple(code for note in notes for code in LOCATION_NOTE.match(note).group(1).split())
        assert codes == facts.location_note_codes
        assert facts.excluded == (facts.has_099 and facts.call_number in DEFAULT_EXCLUDED_CALL_NUMBERS)
        if facts.bulk_dates:
            assert record["245"]["g"] == facts.bulk_dates


def test_every_record_level_case_appears(records):
    facts = [f for f, _, _ in records]
    assert {f.case for f in facts} >= {
        "normal", "long_520", "no_856", "excluded", "two_856", "missing_099",
        "near_miss_call_number", "missing_008", "no_containers", "missing_041",
    }  # fmt: skip
    assert any(f.excluded and f.call_number in DEFAULT_EXCLUDED_CALL_NUMBERS for f in facts)
    assert any(f.call_number in NEAR_MISS_CALL_NUMBERS and not f.excluded for f in facts)
    assert any(not f.has_099 for f in facts) and any(not f.has_008 for f in facts)
    assert any(not f.has_041 for f in facts) and any(not f.has_856 for f in facts)
    assert any(f.is_exported for f in facts) and any(not f.containers for f in facts)
    call_numbers = [f.call_number for f in facts]
    assert len(set(call_numbers)) == len(call_numbers)
    assert {re.match(r"[A-Z]+", c).group() for c in call_numbers} >= {"C", "MC", "AC", "TC", "WC"}
    assert any(re.fullmatch(r"MC\d{3}\.\d{2}\.\d{2}", c) for c in call_numbers)


def test_every_field_rule_is_exercised(records):
    for _, record, xml in records:
        (empty_049,) = record.get_fields("049")
        assert empty_049.subfields == [] and b'tag="049"/>' in xml
        assert record.get_fields("852")
    subjects = _fields(records, *SUBJECT_TAGS)
    split_tags = {f.tag for f in subjects if " -- " in f.get("a", "")}
    assert split_tags >= {"600", "610", "630", "650", "651", "655", "700"}
    assert any(re.search(r" -- \d\d", f.get("a", "")) for f in subjects)
    assert any(f.get_subfields("x") and " -- " not in f.get("a", "") for f in subjects)  # already subdivided
    viaf = [f for f in subjects if f.get_subfields("2") == ["viaf"]]
    assert viaf and all(f.indicator2 == "7" and "viaf" in f["0"] for f in viaf)
    assert {f.tag for f in viaf} >= {"600", "610", "700"}
    assert any(f.get_subfields("2") == ["local"] for f in subjects)
    assert any("id.loc.gov" in f.get("0", "") for f in subjects)  # a non-VIAF $0 stays $0
    assert any(f.get_subfields("2") == ["aat"] and f.indicator2 == "7" for f in subjects)
    assert any(f.get("g") for f in _fields(records, "245"))


def test_location_notes_and_other_500s(records):
    notes = [f["a"] for f in _fields(records, "500")]
    location_notes = [LOCATION_NOTE.match(n) for n in notes if n.startswith("Location of resource:")]
    codes = [m.group(1).split() for m in location_notes]
    assert any(len(c) == 1 and not RECAP_LOCATION.match(c[0]) for c in codes)  # e.g. scamudd
    assert any(len(c) > 1 for c in codes)  # e.g. scamss scarcpph
    assert any(not n.startswith("Location of resource:") for n in notes)
    assert not any("Unpublished" in n for n in notes)


def test_long_summaries_and_line_breaks(records):
    summaries = [f["a"] for f in _fields(records, "520")]
    assert any(len(s) > 8_000 for s in summaries)
    all_text = [value for f in _fields(records, "520", "544") for value in f.get_subfields("a", "d")]
    assert any("\r\n" in t for t in all_text)
    assert any("\n" in t and "\r" not in t for t in all_text)


def test_links_with_u_and_records_without_856(records):
    links = [(facts, record.get_fields("856")) for facts, record, _ in records]
    assert any(not fields for _, fields in links)
    assert all(fields[0]["u"].startswith("http") for _, fields in links if fields)
    assert any(len(fields) == 2 for _, fields in links)


def test_deletable_and_kept_fields_all_appear(records):
    present = {f.tag for _, record, _ in records for f in record.fields}
    assert present >= set(DELETABLE_TAGS)
    assert present >= {"506", "545", "546", "555", "584", "300", "245", "040", "041", "099"}
    assert present & {"100", "110"}


def test_include_unpublished_adds_a_note(small):
    repo_id, resource_id = next(small.iter_resources())
    published = small.marc_xml(repo_id, resource_id)
    everything = small.marc_xml(repo_id, resource_id, include_unpublished=True)
    assert b"Unpublished note" not in published and b"Unpublished note" in everything


# -- containers ------------------------------------------------------------------


def _containers(dataset: Dataset):
    return [tc for rid in dataset.iter_resources() for tc in dataset.top_containers(*rid)]


def test_every_container_case_appears(small):
    containers = _containers(small)
    assert any(tc.barcode for tc in containers) and any(tc.barcode is None for tc in containers)
    assert any(tc.is_recap for tc in containers)
    assert any(tc.locations and not tc.is_recap for tc in containers)
    assert any(not tc.locations for tc in containers)
    several = [tc for tc in containers if len(tc.locations) > 1]
    assert any(tc.is_recap and not tc.locations[1].is_recap for tc in several)
    assert any(not tc.is_recap and tc.locations[1].is_recap for tc in several)
    codes = {tc.first_location_code for tc in containers}
    assert codes & {"scarcpph", "scarcppf", "rcpxg", "rcpxm"} and codes & {"scamss", "scamudd", "mss", "flm"}
    assert {tc.type for tc in containers} >= {"box", "volume", "folder", "item"}
    indicators = [tc.indicator for tc in containers]
    assert any(re.fullmatch(r"[A-Z]+-\d+", i) for i in indicators)
    assert any(re.fullmatch(r"\d+[a-z]", i) for i in indicators)


def test_indicator_numbers_are_unique_per_resource_and_not_in_search_order(small):
    shuffled = 0
    for rid in small.iter_resources():
        containers = small.top_containers(*rid)
        numbers = [tc.indicator_number for tc in containers]
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        for tc in containers:
            assert int(re.search(r"\d+", tc.indicator).group()) == tc.indicator_number
        shuffled += numbers != sorted(numbers)
    assert shuffled > 0


def test_expected_items_follow_the_item_rules(small):
    for rid in small.iter_resources():
        facts = small.resource(*rid)
        wanted = [tc for tc in facts.containers if tc.barcode and RECAP_LOCATION.match(tc.first_location_code or "")]
        report = {wanted[0].barcode} if wanted else set()
        items = facts.expected_items(report)
        assert [i["a"] for i in items] == [
            tc.barcode for tc in sorted(wanted, key=lambda tc: tc.indicator_number) if tc.barcode not in report
        ]
        for item in items:
            assert item["d"] == f"(PULFA){facts.call_number}" and RECAP_LOCATION.match(item["c"])


def test_solr_doc_and_json_shapes(small):
    containers = _containers(small)
    with_barcode = next(tc for tc in containers if tc.barcode and tc.locations)
    without = next(tc for tc in containers if tc.barcode is None and not tc.locations)
    doc = solr_doc(with_barcode)
    for key in ("id", "uri", "title", "primary_type", "repository", "type_enum_s", "collection_uri_u_sstr",
                "barcode_u_sstr", "location_display_string_u_sstr", "json"):  # fmt: skip
        assert key in doc
    assert doc["collection_uri_u_sstr"] == [with_barcode.resource_uri]
    record = json.loads(doc["json"])
    assert record == top_container_json(with_barcode)
    assert record["barcode"] == with_barcode.barcode and record["jsonmodel_type"] == "top_container"
    location = record["container_locations"][0]
    assert {"ref", "status", "start_date", "_resolved"} <= set(location)
    assert {"building", "title", "classification", "uri"} <= set(location["_resolved"])
    assert location["_resolved"]["classification"] == with_barcode.first_location_code
    assert record["collection"][0] == {
        "ref": with_barcode.resource_uri,
        "identifier": with_barcode.collection_identifier,
        "display_string": with_barcode.collection_title,
    }
    assert record["repository"] == {"ref": f"/repositories/{with_barcode.repo_id}"}
    bare = json.loads(solr_doc(without)["json"])
    assert "barcode" not in bare and bare["container_locations"] == []
    assert "barcode_u_sstr" not in solr_doc(without) and solr_doc(without)["has_location_u_sbool"] == [False]
