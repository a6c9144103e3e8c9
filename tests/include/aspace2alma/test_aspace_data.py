"""ArchivesSpace's answers checked where they enter: URIs, listings, top containers, paging."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from devstack.aspace_standin.data import Dataset, solr_doc
from include.aspace2alma import aspace_data
from include.aspace2alma.aspace_data import (
    MAX_SEARCH_PAGES,
    MAX_TOP_CONTAINERS,
    REPOSITORY_URI,
    RESOURCE_URI,
    TOP_CONTAINER_URI,
    AspaceDataError,
    check_api_path,
    check_uri,
    collect_top_containers,
    read_search_page,
    search_page,
    top_container,
)
from tests.include.aspace2alma.hostile_strategies import ANY_TEXT, JSON_SCALARS, SEARCH_DOCS

SEARCH = "GET /repositories/2/top_containers/search for /repositories/2/resources/7"
BASE = "http://aspace.example.edu:8089"
CRAFTED_URIS = [
    "@127.0.0.1:9/repositories/2",
    "http://127.0.0.1:9/repositories/2",
    "//127.0.0.1:9/repositories/2",
    ".attacker.example/repositories/2",
    "/repositories/2@127.0.0.1:9",
    "/repositories/2/../../x",
    "/repositories/2\n",
    "/repositories/2?x=1",
    "/repositories/٢",
    "/repositories/02",
    "",
    None,
    2,
]


def _doc(**container):
    return {"json": json.dumps({"uri": "/repositories/2/top_containers/5"} | container)}


def _page(docs, found=None):
    return {"response": {"numFound": len(docs) if found is None else found, "docs": docs}}


# -- URIs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", CRAFTED_URIS)
def test_only_relative_uris_of_the_expected_shapes_are_accepted_and_the_error_names_them(uri):
    with pytest.raises(AspaceDataError, match="repository URI .* is not a relative URI") as error:
        check_uri(uri, REPOSITORY_URI, "repository")
    assert repr(uri)[:20] in str(error.value)
    assert check_uri("/repositories/2", REPOSITORY_URI, "repository") == "/repositories/2"


@given(ANY_TEXT | st.from_regex(r"/repositories/[0-9]{1,3}(/resources/[0-9]{1,3})?", fullmatch=True))
def test_an_accepted_uri_stays_on_the_base_url(uri):
    for shape in (REPOSITORY_URI, RESOURCE_URI, TOP_CONTAINER_URI):
        try:
            check_uri(uri, shape, "some")
        except AspaceDataError:
            continue
        url = urlsplit(BASE + uri)
        assert (url.scheme, url.netloc, url.path, url.query) == ("http", "aspace.example.edu:8089", uri, "")


def test_only_the_api_paths_the_export_uses_are_requested():
    for path in ("/repositories", "/repositories/2/resources", "/repositories/2/resources/marc21/7.xml",
                 "/repositories/2/top_containers/search"):  # fmt: skip
        assert check_api_path(path) == path
    for path in ("/users/admin", "/repositories/2/resources/marc21/7.xml/../../x", "@evil/repositories"):
        with pytest.raises(AspaceDataError, match="refused to request"):
            check_api_path(path)


# -- listings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"uri": "/repositories/2"}, "expected a list of repositories"),
        ([["/repositories/2"]], "expected a list of repositories"),
        ([{"uri": "@evil/repositories/2"}], "repository URI '@evil/repositories/2'"),
        ([{"uri": "/repositories/2"}, {"uri": "/repositories/2"}], "'/repositories/2' is listed twice"),
    ],
)
def test_malformed_repository_listings_are_refused(payload, message):
    with pytest.raises(AspaceDataError, match=message):
        aspace_data.repositories(payload, "GET /repositories")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"ids": [1]}, "expected a list of resource ids"),
        ([1, "2"], "resource id '2' is not an id"),
        ([1, True], "resource id True is not an id"),
        ([0], "resource id 0"),
        ([2**31], "resource id 2147483648"),
        ([1.0], "resource id 1.0"),
        ([3, 3], "3 is listed twice"),
    ],
)
def test_malformed_resource_id_listings_are_refused(payload, message):
    with pytest.raises(AspaceDataError, match=f"GET /repositories/2/resources: {message}"):
        aspace_data.resource_ids(payload, "GET /repositories/2/resources")


# -- top containers -----------------------------------------------------------------------


def test_a_real_shaped_doc_gives_what_the_export_uses():
    dataset = Dataset()
    tc = next(tc for ref in dataset.iter_resources() for tc in dataset.top_containers(*ref) if tc.barcode)
    container = top_container(solr_doc(tc), SEARCH)
    assert (container.uri, container.barcode, container.type, container.indicator, container.location_code) == (
        tc.uri, tc.barcode, tc.type, tc.indicator, tc.first_location_code,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "a doc without the JSON of its top container"),
        ({"json": "[{}]"}, "expected a JSON object"),
        ({"json": "{" * 3000}, "malformed JSON"),
        ({"json": "[" * 100_000}, r"malformed JSON \(RecursionError\)"),
        ({"json": json.dumps({"uri": "//evil/repositories/2/top_containers/5"})}, "top container URI '//evil"),
        (
            _doc(barcode=32101106176132),
            f"{SEARCH}: top container /repositories/2/top_containers/5: barcode is int 32101106176132",
        ),
        (_doc(barcode="3210\u000b"), r"barcode '3210\\x0b' holds U\+000B, which an XML record cannot carry"),
        (_doc(indicator="2\ufffe"), r"indicator '2\\ufffe' holds U\+FFFE"),
        (_doc(type="box\ud800"), r"type .* holds U\+D800"),
        (_doc(barcode="9" * 256), "barcode '9999.* is longer than 255 characters"),
        (_doc(container_locations={"ref": "/locations/1"}), "container_locations is .*expected a list"),
        (_doc(container_locations=["/locations/1"]), "first container location is '/locations/1'"),
        (_doc(container_locations=[{"_resolved": []}]), "first location's _resolved is \\[\\]"),
        (_doc(container_locations=[{"_resolved": {"classification": 7}}]), "classification is int 7"),
    ],
)
def test_malformed_or_hostile_top_containers_are_refused_by_name(doc, message):
    with pytest.raises(AspaceDataError, match=message):
        top_container(doc, SEARCH)


def test_absent_values_are_empty_as_before():
    container = top_container(_doc(barcode=" 321 ", indicator=None, container_locations=[None]), SEARCH)
    assert (container.barcode, container.type, container.indicator, container.location_code) == ("321", "", "", None)


@given(SEARCH_DOCS)
def test_any_doc_gives_an_xml_safe_container_or_an_error_naming_the_search(doc):
    try:
        container = top_container(doc, SEARCH)
    except AspaceDataError as error:
        assert str(error).startswith(f"{SEARCH}: ")
        return
    assert TOP_CONTAINER_URI.fullmatch(container.uri)
    for text in (container.barcode, container.type, container.indicator, container.location_code or ""):
        etree.Element("subfield").text = text  # lxml raises on anything XML cannot carry
        assert "\n" not in text and len(text) <= 255


# -- paging -------------------------------------------------------------------------------


def _serving(pages):
    """fetch_page answering ``pages`` (as JSON) in turn, then the last one forever; counts the calls."""
    calls = []

    def fetch(start):
        calls.append(start)
        return json.dumps(pages[min(len(calls), len(pages)) - 1]).encode()

    return fetch, calls


def test_pages_are_followed_to_num_found():
    docs = [_doc(barcode=str(n)) | {"json": json.dumps({"uri": f"/repositories/2/top_containers/{n}"})} for n in range(1, 8)]  # fmt: skip
    fetch, calls = _serving([_page(docs[:3], 7), _page(docs[3:6], 7), _page(docs[6:], 7)])
    assert [c.uri for c in collect_top_containers(fetch, SEARCH)] == [f"/repositories/2/top_containers/{n}" for n in range(1, 8)]  # fmt: skip
    assert calls == [0, 3, 6]


def test_a_repeated_page_ends_with_an_error_naming_the_search():
    fetch, calls = _serving([_page([_doc()], 50_000)])
    with pytest.raises(
        AspaceDataError, match=f"^{SEARCH}: the page at start 1 repeats /repositories/2/top_containers/5"
    ):
        collect_top_containers(fetch, SEARCH)
    assert len(calls) == 2


def test_a_huge_num_found_ends_at_once():
    fetch, calls = _serving([_page([_doc()], 10**9)])
    with pytest.raises(AspaceDataError, match=f"{SEARCH}: 1000000000 top containers, above the cap of 100000"):
        collect_top_containers(fetch, SEARCH)
    assert len(calls) == 1


def test_paging_stops_at_the_hard_cap_of_pages():
    calls = []

    def one_new_container_per_page(start):
        calls.append(start)
        return json.dumps(
            _page([{"json": json.dumps({"uri": f"/repositories/2/top_containers/{start + 1}"})}], 50_000)
        ).encode()

    with pytest.raises(AspaceDataError, match=f"{SEARCH}: 1000 of 50000 top containers after 1000 pages; gave up"):
        collect_top_containers(one_new_container_per_page, SEARCH)
    assert len(calls) == MAX_SEARCH_PAGES


_PAGES = st.lists(
    st.fixed_dictionaries({"response": st.fixed_dictionaries(
        {"docs": st.lists(SEARCH_DOCS, max_size=3)},
        optional={"numFound": st.integers(-1, 8) | st.just(10**9) | JSON_SCALARS},
    )}) | JSON_SCALARS,
    min_size=1, max_size=4,
)  # fmt: skip


@given(_PAGES)
def test_any_answers_give_distinct_containers_within_the_caps_or_an_error_naming_the_search(pages):
    fetch, calls = _serving(pages)
    try:
        containers = collect_top_containers(fetch, SEARCH)
    except AspaceDataError as error:
        assert str(error).startswith(f"{SEARCH}: ")
        return
    finally:
        assert len(calls) <= MAX_SEARCH_PAGES
    assert len({c.uri for c in containers}) == len(containers) <= MAX_TOP_CONTAINERS


def _checking_every_shape(body):
    """What `read_search_page` must give: the answer through json and the checks that name every fault."""
    try:
        found, docs = search_page(json.loads(body.decode("utf-8")), SEARCH)
        return found, [top_container(doc, SEARCH) for doc in docs]
    except AspaceDataError as error:
        return str(error)
    except (ValueError, RecursionError):
        return "malformed JSON"


def _reading(body):
    try:
        return read_search_page(body, SEARCH)
    except AspaceDataError as error:
        return "malformed JSON" if str(error).startswith(f"{SEARCH}: malformed JSON") else str(error)


_ANSWERS = _PAGES.map(lambda pages: pages[0]) | st.fixed_dictionaries(
    {"response": st.fixed_dictionaries({"docs": st.lists(SEARCH_DOCS, max_size=3)}, optional={"numFound": st.floats()})}
)  # fmt: skip


@given(_ANSWERS, st.sampled_from([json.dumps, lambda page: json.dumps(page, ensure_ascii=False)]))
def test_the_quick_decoding_of_well_formed_answers_gives_what_checking_every_shape_gives(page, dumps):
    body = dumps(page).encode("utf-8", "surrogatepass")
    assert _reading(body) == _checking_every_shape(body)


def test_a_real_answer_takes_the_quick_decoding(monkeypatch):
    dataset = Dataset()
    tcs = next(tcs for ref in dataset.iter_resources() if len(tcs := dataset.top_containers(*ref)) >= 3)
    body = json.dumps(
        {"responseHeader": {"status": 0}, "response": {"numFound": 9, "docs": [solr_doc(tc) for tc in tcs]}}
    )
    monkeypatch.setattr(aspace_data, "_read_search_page_checking_shapes", None)
    assert read_search_page(body.encode(), SEARCH) == (9, [top_container(solr_doc(tc), SEARCH) for tc in tcs])
