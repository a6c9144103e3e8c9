"""The ArchivesSpace stand-in over real HTTP: API shapes, sessions, latency, faults, stats and the CLI."""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pymarc
import pytest
import requests
from lxml import etree

from devstack.aspace_standin.data import Dataset, solr_doc
from devstack.aspace_standin.hostile import CONTAINER_BREAKS
from devstack.aspace_standin.server import BackgroundServer, create_app

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = 11


@pytest.fixture(scope="module")
def server():
    with BackgroundServer(create_app(seed=SEED, repositories=3, resources=36, containers=400)) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_state(request):
    if "server" in request.fixturenames:
        server = request.getfixturevalue("server")
        requests.post(f"{server.url}/_standin/reset", timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(seed=SEED, repositories=3, resources=36, containers=400)


def _login(url: str, user: str = "admin", password: str = "admin") -> dict[str, str]:
    response = requests.post(f"{url}/users/{user}/login", params={"password": password}, timeout=5)
    response.raise_for_status()
    return {"X-ArchivesSpace-Session": response.json()["session"]}


def _get(server, path: str, headers=None, **params) -> requests.Response:
    return requests.get(f"{server.url}{path}", headers=headers, params=params or None, timeout=10)


def _search(server, headers, uri: str, **params) -> requests.Response:
    repo = uri.split("/")[2]
    query = quote(f'collection_uri_u_sstr:"{uri}"')
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return requests.get(f"{server.url}/repositories/{repo}/top_containers/search?q={query}{extra}", headers=headers)


def _stats(server) -> dict:
    return requests.get(f"{server.url}/_standin/stats", timeout=5).json()


def _set_faults(server, faults: dict) -> requests.Response:
    return requests.post(f"{server.url}/_standin/faults", json=faults, timeout=5)


def _resource_with_containers(dataset: Dataset, minimum: int = 3) -> tuple[int, int]:
    return next(rid for rid in dataset.iter_resources() if dataset.container_total(*rid) >= minimum)


# -- root, login and sessions -----------------------------------------------------


def test_root_needs_no_session(server):
    body = _get(server, "/").json()
    assert body["archivesSpaceVersion"] == "v3.5.1" and "databaseProductName" in body


def test_login_with_query_or_form_and_failures(server):
    by_query = requests.post(f"{server.url}/users/admin/login", params={"password": "admin"}).json()
    by_form = requests.post(f"{server.url}/users/admin/login", data={"password": "admin"}).json()
    assert len(by_query["session"]) == 64 and by_query["session"] != by_form["session"]
    assert by_query["user"]["username"] == "admin"
    for user, password in [("admin", "wrong"), ("nobody", "admin")]:
        response = requests.post(f"{server.url}/users/{user}/login", data={"password": password})
        assert response.status_code == 403 and response.json() == {"error": "Login failed"}


def test_missing_unknown_and_expired_sessions_answer_412(server):
    missing = _get(server, "/repositories")
    assert missing.status_code == 412 and missing.json()["code"] == "SESSION_GONE"
    unknown = _get(server, "/repositories", headers={"X-ArchivesSpace-Session": "deadbeef"})
    assert unknown.status_code == 412
    assert unknown.json() == {"code": "SESSION_GONE", "error": "No session found for deadbeef"}
    headers = _login(server.url)
    assert _get(server, "/repositories", headers).status_code == 200
    assert requests.post(f"{server.url}/_standin/expire_sessions").json() == {"expired": 1}
    expired = _get(server, "/repositories", headers)
    assert expired.status_code == 412 and expired.json()["code"] == "SESSION_EXPIRED"
    assert _get(server, "/repositories", _login(server.url)).status_code == 200  # log in again, go on


def test_sessions_expire_after_ttl_of_inactivity():
    now = [1_000.0]
    app = create_app(resources=2, containers=0, session_ttl=60, clock=lambda: now[0])
    with BackgroundServer(app) as short:
        headers = _login(short.url)
        for _ in range(3):  # each use restarts the inactivity clock
            now[0] += 45
            assert _get(short, "/repositories", headers).status_code == 200
        now[0] += 61
        assert _get(short, "/repositories", headers).json()["code"] == "SESSION_EXPIRED"


def test_custom_credentials():
    app = create_app(resources=1, containers=0, user="aspace", password="s3cret")  # pragma: allowlist secret
    with BackgroundServer(app) as custom:
        wrong = {"password": "admin"}  # pragma: allowlist secret
        refused = requests.post(f"{custom.url}/users/admin/login", data=wrong)
        assert refused.status_code == 403
        assert _get(custom, "/repositories", _login(custom.url, "aspace", "s3cret")).status_code == 200


# -- data endpoints -----------------------------------------------------------------


def test_repositories_and_all_ids(server, dataset):
    headers = _login(server.url)
    repositories = _get(server, "/repositories", headers).json()
    assert [r["uri"] for r in repositories] == ["/repositories/2", "/repositories/3", "/repositories/4"]
    assert all(r["jsonmodel_type"] == "repository" and r["repo_code"] and r["name"] for r in repositories)
    total = 0
    for repository in repositories:
        ids = _get(server, f"{repository['uri']}/resources", headers, all_ids="true").json()
        assert ids == dataset.resource_ids(int(repository["uri"].rsplit("/", 1)[1]))
        assert all(isinstance(i, int) for i in ids)
        total += len(ids)
    assert total == 36
    paged = _get(server, "/repositories/2/resources", headers)
    assert paged.status_code == 400 and "error" in paged.json()
    assert _get(server, "/repositories/99/resources", headers, all_ids="true").status_code == 404


def test_marc_export(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    response = _get(server, f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml", headers)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/xml")
    assert response.content == dataset.marc_xml(repo_id, resource_id)
    root = etree.fromstring(response.content)
    assert root.tag == "{http://www.loc.gov/MARC21/slim}collection" and len(root) == 1
    (record,) = pymarc.parse_xml_to_array(io.BytesIO(response.content))
    assert record["099"]["a"] == dataset.resource(repo_id, resource_id).call_number
    missing = _get(server, f"/repositories/{repo_id}/resources/marc21/999999.xml", headers)
    assert missing.status_code == 404 and missing.json() == {"error": "Resource not found"}


def test_include_unpublished_marc_is_honoured_and_counted(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    path = f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml"
    assert b"Unpublished note" not in _get(server, path, headers).content
    assert b"Unpublished note" in _get(server, path, headers, include_unpublished_marc="true").content
    assert _stats(server)["unpublished_marc_requests"] == 1


def test_top_container_search(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = _resource_with_containers(dataset)
    uri = f"/repositories/{repo_id}/resources/{resource_id}"
    body = _search(server, headers, uri).json()
    expected = dataset.top_containers(repo_id, resource_id)
    assert body["responseHeader"]["status"] == 0
    assert body["response"]["numFound"] == len(expected) == len(body["response"]["docs"])
    assert body["response"]["start"] == 0
    for doc, container in zip(body["response"]["docs"], expected, strict=True):
        assert doc["collection_uri_u_sstr"] == [uri] and doc["uri"] == container.uri
        record = json.loads(doc["json"])
        assert record["indicator"] == container.indicator and record.get("barcode") == container.barcode
        assert [loc["_resolved"]["classification"] for loc in record["container_locations"]] == [
            loc.code for loc in container.locations
        ]
    page = _search(server, headers, uri, page=2, page_size=2).json()["response"]
    assert [d["uri"] for d in page["docs"]] == [c.uri for c in expected[2:4]] and page["start"] == 2
    empty = _search(server, headers, f"/repositories/{repo_id}/resources/999999").json()
    assert empty["response"] == {"numFound": 0, "start": 0, "numFoundExact": True, "docs": []}
    no_query = requests.get(f"{server.url}/repositories/{repo_id}/top_containers/search", headers=headers)
    assert no_query.status_code == 400


def test_search_is_capped_at_10000_docs():
    one_big_resource = Dataset(seed=2, repositories=1, resources=1, containers=10_050)
    (resource_id,) = one_big_resource.resource_ids(2)
    uri = f"/repositories/2/resources/{resource_id}"
    with BackgroundServer(create_app(dataset=one_big_resource)) as big:
        headers = _login(big.url)
        body = _search(big, headers, uri, rows=20_000).json()["response"]
        assert body["numFound"] == 10_050 and len(body["docs"]) == 10_000
        assert len(_search(big, headers, uri, page=2).json()["response"]["docs"]) == 50


def _marc_path(repo_id: int, resource_id: int) -> str:
    return f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml"


def _export_and_containers(server, repo_id: int, resource_id: int) -> tuple[bytes, bytes]:
    """One resource's MARC export and first top-container page, as bytes, over a new session."""
    headers = _login(server.url)
    uri = f"/repositories/{repo_id}/resources/{resource_id}"
    return _get(server, _marc_path(repo_id, resource_id), headers).content, _search(server, headers, uri).content


def test_same_seed_same_bytes_over_http(server, dataset):
    repo_id, resource_id = _resource_with_containers(dataset)
    first = _export_and_containers(server, repo_id, resource_id)
    assert first == _export_and_containers(server, repo_id, resource_id)
    with BackgroundServer(create_app(seed=SEED + 1, repositories=3, resources=36, containers=400)) as other:
        assert _export_and_containers(other, repo_id, resource_id)[0] != first[0]


def test_cached_responses_are_the_rendered_bytes_and_faults_still_apply(server, dataset):
    repo_id, resource_id = _resource_with_containers(dataset)
    rendered = _export_and_containers(server, repo_id, resource_id)
    with BackgroundServer(
        create_app(seed=SEED, repositories=3, resources=36, containers=400, cache_responses=True)
    ) as cached:
        for _ in range(2):  # rendered once, then answered from the cache
            assert _export_and_containers(cached, repo_id, resource_id) == rendered
        _set_faults(cached, {"invalid_xml": {"resource_ids": [resource_id]}})
        truncated = _export_and_containers(cached, repo_id, resource_id)[0]
        assert truncated != rendered[0] and rendered[0].startswith(truncated)
        _set_faults(cached, {})
        assert _export_and_containers(cached, repo_id, resource_id)[0] == rendered[0]  # the cache kept the whole export


# -- latency --------------------------------------------------------------------------


def test_latency_delays_every_request_concurrently():
    with BackgroundServer(create_app(resources=3, containers=0, latency_ms=200)) as slow:
        started = time.perf_counter()
        _get(slow, "/")
        assert time.perf_counter() - started >= 0.2
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _get(slow, "/").status_code, range(8)))
        assert statuses == [200] * 8 and time.perf_counter() - started < 1.0  # side by side, not 8 x 0.2 s
        assert _stats(slow)["max_in_flight"] >= 4


# -- faults ---------------------------------------------------------------------------


def test_faults_endpoint_round_trip_and_validation(server):
    config = _set_faults(server, {"error_5xx": 0.25, "slow": {"resource_ids": [5], "seconds": 0.1}}).json()
    assert config["error_5xx"]["rate"] == 0.25 and config["slow"]["seconds"] == 0.1
    assert requests.get(f"{server.url}/_standin/faults").json() == config
    for bad in ({"bogus": 1}, {"reset": 2}, {"slow": {"rate": 0.1, "colour": "red"}}, {"down": "yes"}):
        assert _set_faults(server, bad).status_code == 400
    requests.post(f"{server.url}/_standin/reset")
    assert requests.get(f"{server.url}/_standin/faults").json() == {"down": False, "seed": 0}


def test_reset_fault_aborts_the_connection(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    _set_faults(server, {"reset": {"resource_ids": [resource_id]}})
    with pytest.raises(requests.ConnectionError):
        _get(server, f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml", headers)
    assert _stats(server)["faults"] == {"reset": 1}


def test_error_5xx_fault_for_listed_resources_heals_after_times(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    _set_faults(server, {"error_5xx": {"resource_ids": [resource_id], "times": 2, "statuses": [502]}})
    path = f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml"
    assert [_get(server, path, headers).status_code for _ in range(3)] == [502, 502, 200]


def test_error_5xx_rate_hits_a_share_of_requests(server):
    headers = _login(server.url)
    _set_faults(server, {"error_5xx": 0.5, "seed": 3})
    statuses = [_get(server, "/repositories", headers).status_code for _ in range(40)]
    assert 5 < sum(s >= 500 for s in statuses) < 35
    assert set(statuses) <= {200, 500, 502, 503}


def test_slow_fault_adds_delay(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    _set_faults(server, {"slow": {"resource_ids": [resource_id], "seconds": 0.3}})
    started = time.perf_counter()
    response = _search(server, headers, f"/repositories/{repo_id}/resources/{resource_id}")
    assert response.status_code == 200 and time.perf_counter() - started >= 0.3


def test_malformed_json_fault(server):
    headers = _login(server.url)
    _set_faults(server, {"malformed_json": 1.0})
    response = _get(server, "/repositories", headers)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()


def test_hostile_xml_faults(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    path = f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml"
    _set_faults(server, {"hostile_xml": {"rate": 1.0, "variant": "billion_laughs", "endpoints": ["marc"]}})
    bomb = _get(server, path, headers).content
    assert b"<!ENTITY lol9" in bomb and len(bomb) < 5_000
    with pytest.raises(etree.XMLSyntaxError):  # lxml refuses the expansion by default
        etree.fromstring(bomb, etree.XMLParser(resolve_entities=True, huge_tree=False))
    _set_faults(server, {"hostile_xml": {"rate": 1.0, "variant": "external_entity", "endpoints": ["marc"]}})
    xxe = _get(server, path, headers).content
    assert b'<!ENTITY xxe SYSTEM "file:///etc/passwd">' in xxe and b"&xxe;" in xxe
    safe = etree.fromstring(xxe, etree.XMLParser(resolve_entities=False, no_network=True))
    assert b"root:" not in etree.tostring(safe)


def test_invalid_xml_fault(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    _set_faults(server, {"invalid_xml": {"resource_ids": [resource_id]}})
    body = _get(server, f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml", headers).content
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(body)


def test_crafted_uri_fault_puts_its_uri_in_the_repository_list(server):
    headers = _login(server.url)
    _set_faults(server, {"crafted_uri": {"rate": 1.0, "uri": "@127.0.0.1:9/repositories/2"}})
    repositories = _get(server, "/repositories", headers).json()
    assert repositories[0]["uri"] == "@127.0.0.1:9/repositories/2" and repositories[1]["uri"] == "/repositories/3"
    assert _stats(server)["faults"] == {"crafted_uri": 1}


@pytest.mark.parametrize("variant", CONTAINER_BREAKS)
def test_hostile_container_fault_breaks_the_first_container_of_the_page(server, dataset, variant):
    headers = _login(server.url)
    repo_id, resource_id = _resource_with_containers(dataset)
    uri = f"/repositories/{repo_id}/resources/{resource_id}"
    _set_faults(server, {"hostile_container": {"resource_ids": [resource_id], "variant": variant}})
    docs = _search(server, headers, uri).json()["response"]["docs"]
    first, rest = json.loads(docs[0]["json"]), [json.loads(doc["json"]) for doc in docs[1:]]
    clean = [json.loads(solr_doc(tc)["json"]) for tc in dataset.top_containers(repo_id, resource_id)]
    assert rest == clean[1:] and first != clean[0]
    broken = {
        "not_an_object": lambda: first == [clean[0]],
        "integer_barcode": lambda: isinstance(first["barcode"], int),
        "control_character": lambda: first["barcode"].endswith("\u000b"),
        "noncharacter": lambda: first["indicator"].endswith("\ufffe"),
        "locations_not_a_list": lambda: isinstance(first["container_locations"], dict),
        "foreign_uri": lambda: first["uri"].startswith("//attacker.example/"),
    }
    assert broken[variant]()


def test_repeating_pages_fault_answers_the_first_page_with_a_huge_num_found(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = _resource_with_containers(dataset)
    uri = f"/repositories/{repo_id}/resources/{resource_id}"
    first = _search(server, headers, uri).json()["response"]
    _set_faults(server, {"repeating_pages": {"resource_ids": [resource_id]}})
    later = _search(server, headers, uri, start=len(first["docs"])).json()["response"]
    assert later["docs"] == first["docs"] and later["numFound"] == 10**9
    _set_faults(server, {"repeating_pages": {"resource_ids": [resource_id], "num_found": 500}})
    assert _search(server, headers, uri, start=3).json()["response"]["numFound"] == 500


def test_redirect_fault_answers_302_to_its_location(server):
    _set_faults(server, {"redirect": {"rate": 1.0, "endpoints": ["root"], "location": "http://elsewhere.example/"}})
    response = requests.get(f"{server.url}/", allow_redirects=False, timeout=5)
    assert response.status_code == 302 and response.headers["Location"] == "http://elsewhere.example/"


@pytest.mark.parametrize(
    "bad",
    [
        {"crafted_uri": {"rate": 1.0}},
        {"redirect": 1.0},
        {"hostile_container": {"variant": "billion_laughs"}},
        {"hostile_xml": {"variant": "integer_barcode"}},
        {"repeating_pages": {"num_found": -1}},
        {"slow": {"uri": "/x"}},
    ],
)
def test_hostile_fault_options_are_validated(server, bad):
    assert _set_faults(server, bad).status_code == 400


def test_down_answers_503_to_everything_but_admin(server):
    _set_faults(server, {"down": True})
    assert _get(server, "/").status_code == 503
    admin = {"password": "admin"}  # pragma: allowlist secret
    assert requests.post(f"{server.url}/users/admin/login", data=admin).status_code == 503
    assert requests.get(f"{server.url}/_standin/stats").status_code == 200


# -- stats ----------------------------------------------------------------------------


def test_stats_count_requests_per_kind_and_resource(server, dataset):
    headers = _login(server.url)
    repo_id, resource_id = next(dataset.iter_resources())
    uri = f"/repositories/{repo_id}/resources/{resource_id}"
    _get(server, "/repositories", headers)
    _get(server, f"/repositories/{repo_id}/resources", headers, all_ids="true")
    for _ in range(2):
        _get(server, f"/repositories/{repo_id}/resources/marc21/{resource_id}.xml", headers)
    _search(server, headers, uri)
    stats = _stats(server)
    assert stats["requests"] == {
        "root": 0, "login": 1, "repositories": 1, "resource_ids": 1, "marc": 2, "top_containers": 1,
    }  # fmt: skip
    assert stats["resources"] == {uri: {"marc": 2, "top_containers": 1}}
    assert stats["statuses"] == {"200": 6} and stats["logins"] == 1 and stats["in_flight"] == 0


# -- the command line -----------------------------------------------------------------


def test_cli_prints_ready_line_serves_and_stops_on_sigterm():
    command = [sys.executable, "-m", "devstack.aspace_standin", "--port", "0", "--resources", "5",
               "--containers", "20", "--seed", "4", "--error-5xx-ids", "1,2", "--slow-seconds", "0.1"]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("ArchivesSpace stand-in ready on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        assert requests.get(url + "/", timeout=5).json()["archivesSpaceVersion"] == "v3.5.1"
        assert requests.get(url + "/_standin/faults", timeout=5).json()["error_5xx"]["resource_ids"] == [1, 2]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
