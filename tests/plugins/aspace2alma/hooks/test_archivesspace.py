"""ArchivesSpaceHook against the real stand-in: sessions, retries, faults, paging, hostile answers."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack.aspace_standin.data import Dataset, solr_doc
from devstack.aspace_standin.hostile import CONTAINER_BREAKS
from devstack.aspace_standin.server import BackgroundServer, create_app
from include.aspace2alma.aspace_data import AspaceDataError, top_container
from tests.dags.aspace2alma_support import RequestCatcher

DATASET = Dataset()  # the dataset of the `aspace` fixture's stand-in


@pytest.fixture
def standin(aspace):
    aspace.admin("reset", {})
    yield aspace
    aspace.admin("reset", {})


def _hook(**kwargs):
    from preservation_pipelines.aspace2alma.hooks.archivesspace import ArchivesSpaceHook

    return ArchivesSpaceHook(backoff_seconds=kwargs.pop("backoff_seconds", 0.05), **kwargs)


def _resource_with_containers(minimum=3):
    return next(ref for ref in DATASET.iter_resources() if DATASET.container_total(*ref) >= minimum)


def test_reads_the_endpoints_with_one_login(standin):
    hook = _hook()
    repo_id, resource_id = _resource_with_containers()
    repository = f"/repositories/{repo_id}"
    assert [r["uri"] for r in hook.repositories()] == ["/repositories/2", "/repositories/3", "/repositories/4"]
    assert hook.resource_ids(repository) == DATASET.resource_ids(repo_id)
    assert hook.resource_marc_xml(repository, resource_id) == DATASET.marc_xml(repo_id, resource_id)
    containers = hook.top_containers(repository, f"{repository}/resources/{resource_id}")
    expected = DATASET.top_containers(repo_id, resource_id)
    assert containers == [top_container(solr_doc(tc), "search") for tc in expected]
    assert [(c.uri, c.barcode or None, c.type, c.indicator, c.location_code) for c in containers] == [
        (tc.uri, tc.barcode, tc.type, tc.indicator, tc.first_location_code) for tc in expected
    ]
    assert hook.logins == 1 and standin.admin("stats")["logins"] == 1
    assert standin.admin("stats")["unpublished_marc_requests"] == 0


def test_an_expired_session_is_renewed_once_even_with_many_threads(standin):
    hook = _hook(max_connections=8)
    hook.repositories()
    standin.admin("expire_sessions", {})
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: hook.resource_ids("/repositories/2"), range(16)))
    assert all(ids == DATASET.resource_ids(2) for ids in results)
    assert hook.logins == 2


def test_5xx_bursts_and_connection_resets_are_retried(standin):
    refs = [ref for ref in DATASET.iter_resources() if DATASET.container_total(*ref) >= 3][:2]
    (repo_a, burst), (repo_b, reset) = refs
    standin.admin("faults", {
        "error_5xx": {"resource_ids": [burst], "times": 3},
        "reset": {"resource_ids": [reset], "times": 3},
    })  # fmt: skip
    hook = _hook()
    assert hook.resource_marc_xml(f"/repositories/{repo_a}", burst) == DATASET.marc_xml(repo_a, burst)
    assert hook.resource_marc_xml(f"/repositories/{repo_b}", reset) == DATASET.marc_xml(repo_b, reset)
    assert standin.admin("stats")["faults"] == {"error_5xx": 3, "reset": 3}


def test_a_resource_failing_past_the_retries_raises_a_resource_error_naming_it(standin):
    from preservation_pipelines.aspace2alma.hooks.archivesspace import RESOURCE_ERRORS

    repo_id, resource_id = _resource_with_containers()
    standin.admin("faults", {"error_5xx": {"resource_ids": [resource_id], "times": 10, "statuses": [502]}})
    with pytest.raises(RESOURCE_ERRORS, match=f"marc21/{resource_id}.xml: HTTP 502"):
        _hook().resource_marc_xml(f"/repositories/{repo_id}", resource_id)


def test_timeouts_are_retried_then_give_up(standin):
    from preservation_pipelines.aspace2alma.hooks.archivesspace import RESOURCE_ERRORS

    repo_id, resource_id = _resource_with_containers()
    standin.admin("faults", {"slow": {"resource_ids": [resource_id], "times": 1, "seconds": 1.0}})
    hook = _hook(timeout_seconds=0.3)
    assert hook.resource_marc_xml(f"/repositories/{repo_id}", resource_id)  # second attempt is quick
    standin.admin("faults", {"slow": {"resource_ids": [resource_id], "seconds": 1.0}})
    with pytest.raises(RESOURCE_ERRORS, match=f"GET /repositories/{repo_id}/resources/marc21/{resource_id}.xml: "):
        hook.resource_marc_xml(f"/repositories/{repo_id}", resource_id)


def test_malformed_json_is_a_clear_error(standin):
    repo_id, resource_id = _resource_with_containers()
    standin.admin("faults", {"malformed_json": {"resource_ids": [resource_id]}})
    with pytest.raises(AspaceDataError, match=r"top_containers/search.*malformed JSON"):
        _hook().top_containers(f"/repositories/{repo_id}", f"/repositories/{repo_id}/resources/{resource_id}")


def test_asspace_down_or_refusing_the_login_is_systemic(standin, monkeypatch):
    from preservation_pipelines.aspace2alma.hooks.archivesspace import ArchivesSpaceAuthError, ArchivesSpaceError

    standin.admin("faults", {"down": True})
    with pytest.raises(ArchivesSpaceAuthError, match="login as 'admin' failed: HTTP 503"):
        _hook().repositories()
    hook = _hook()
    standin.admin("faults", {"down": False})
    hook.repositories()
    standin.admin("faults", {"down": True})
    with pytest.raises(ArchivesSpaceError, match="GET /repositories: HTTP 503"):
        hook.repositories()
    standin.admin("faults", {"down": False})
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASPACE_WRONG",
        json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": standin.port, "login": "admin", "password": "x"}),
    )
    with pytest.raises(ArchivesSpaceAuthError, match="HTTP 403"):
        _hook(aspace_conn_id="aspace_wrong").repositories()


def test_top_containers_beyond_the_search_cap_are_paged(monkeypatch):
    with BackgroundServer(create_app(resources=4, containers=60, search_cap=7)) as small:
        port = int(small.url.rsplit(":", 1)[1])
        monkeypatch.setenv(
            "AIRFLOW_CONN_ASPACE_SMALL",
            json.dumps(
                {
                    "conn_type": "http",
                    "host": "127.0.0.1",
                    "port": port,
                    "login": "admin",
                    "password": "admin",  # pragma: allowlist secret
                }
            ),
        )
        dataset = Dataset(resources=4, containers=60)
        repo_id, resource_id = next(r for r in dataset.iter_resources() if dataset.container_total(*r) > 7)
        containers = _hook(aspace_conn_id="aspace_small").top_containers(
            f"/repositories/{repo_id}", f"/repositories/{repo_id}/resources/{resource_id}"
        )
        assert [c.uri for c in containers] == [tc.uri for tc in dataset.top_containers(repo_id, resource_id)]
        assert requests.get(f"{small.url}/_standin/stats", timeout=5).json()["requests"]["top_containers"] > 1


# -- hostile answers --------------------------------------------------------------------


CONTAINER = r"top container /repositories/\d+/top_containers/\d+: "
CRAFTED = [
    "@{host}/repositories/2",
    "http://{host}/repositories/2",
    "//{host}/repositories/2",
    "/repositories/2@{host}",
]


@pytest.mark.parametrize("crafted", CRAFTED)
def test_a_crafted_repository_uri_never_takes_the_session_token_to_another_host(standin, crafted):
    with RequestCatcher() as catcher:
        uri = crafted.format(host=catcher.authority)
        standin.admin("faults", {"crafted_uri": {"rate": 1.0, "uri": uri}})
        hook = _hook()
        with pytest.raises(AspaceDataError, match=f"GET /repositories: repository URI {re.escape(repr(uri))} is not"):
            hook.repositories()
        for call in (
            lambda: hook.resource_ids(uri),
            lambda: hook.resource_marc_xml(uri, 1),
            lambda: hook.top_containers(uri, "/repositories/2/resources/1"),
            lambda: hook.top_containers("/repositories/2", uri + "/resources/1"),
        ):
            with pytest.raises(AspaceDataError, match=re.escape(uri)):
                call()
        assert catcher.requests == []
    assert standin.admin("stats")["faults"] == {"crafted_uri": 1}


def test_a_redirect_is_not_followed_so_the_token_stays_home(standin):
    from preservation_pipelines.aspace2alma.hooks.archivesspace import ArchivesSpaceAuthError, ArchivesSpaceError

    with RequestCatcher() as catcher:
        target = f"http://{catcher.authority}/repositories"
        standin.admin("faults", {"redirect": {"rate": 1.0, "endpoints": ["repositories"], "location": target}})
        with pytest.raises(ArchivesSpaceError, match="GET /repositories: HTTP 302"):
            _hook().repositories()
        standin.admin("faults", {"redirect": {"rate": 1.0, "endpoints": ["login"], "location": target}})
        with pytest.raises(ArchivesSpaceAuthError, match="HTTP 302"):
            _hook().repositories()
        assert catcher.requests == []


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("not_an_object", "top container .*: expected a JSON object, got \\["),
        ("integer_barcode", CONTAINER + "barcode is int 321"),
        ("control_character", CONTAINER + "barcode .* holds U\\+000B, which an XML record cannot carry"),
        ("noncharacter", CONTAINER + "indicator .* holds U\\+FFFE, which an XML record cannot carry"),
        ("locations_not_a_list", CONTAINER + "container_locations is .* expected a list"),
        ("foreign_uri", "top container URI '//attacker.example/repositories/"),
    ],
)
def test_a_hostile_top_container_is_an_error_naming_the_search_and_container(standin, variant, message):
    assert variant in CONTAINER_BREAKS
    repo_id, resource_id = _resource_with_containers()
    resource = f"/repositories/{repo_id}/resources/{resource_id}"
    standin.admin("faults", {"hostile_container": {"resource_ids": [resource_id], "variant": variant}})
    with pytest.raises(
        AspaceDataError, match=f"^GET /repositories/{repo_id}/top_containers/search for {resource}: {message}"
    ):
        _hook().top_containers(f"/repositories/{repo_id}", resource)


@pytest.mark.parametrize(
    ("num_found", "message", "requests_made"),
    [
        (50_000, "the page at start \\d+ repeats /repositories/", 2),
        (10**9, "1000000000 top containers, above the cap", 1),
    ],
)
def test_a_server_repeating_its_first_page_ends_with_an_error_naming_the_search(
    standin, num_found, message, requests_made
):
    repo_id, resource_id = _resource_with_containers()
    resource = f"/repositories/{repo_id}/resources/{resource_id}"
    standin.admin("faults", {"repeating_pages": {"resource_ids": [resource_id], "num_found": num_found}})
    with pytest.raises(
        AspaceDataError, match=f"^GET /repositories/{repo_id}/top_containers/search for {resource}: {message}"
    ):
        _hook().top_containers(f"/repositories/{repo_id}", resource)
    assert standin.admin("stats")["requests"]["top_containers"] == requests_made
