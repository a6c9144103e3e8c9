"""A hook for the ArchivesSpace backend API over the ``aspace_default`` connection.

The connection's host/port/schema locate the backend API, login/password the
user. Sessions: log in once, send ``X-ArchivesSpace-Session`` on every request,
and on 401/403/412 (``SESSION_GONE``/``SESSION_EXPIRED``) log in again once and
retry. Transient failures (connection errors and resets, timeouts, 5xx) are
retried with exponential backoff by urllib3's ``Retry`` (4 attempts, as the old
job made). The HTTP client is urllib3's thread-safe ``PoolManager`` (requests on top
of it added ~0.25 ms of CPU per call here, which an export of tens of thousands
of calls feels); its pool holds ``max_connections`` connections, so the hook can be
shared by that many threads. The backend API is reached directly (no proxy). urllib3
is imported on first use, not with this module, which DAG files import (~0.1 s).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseHook

if TYPE_CHECKING:
    import urllib3

SESSION_HEADER = "X-ArchivesSpace-Session"
SESSION_LOST_STATUSES = (401, 403, 412)
TRANSIENT_STATUSES = (500, 502, 503, 504)


class ArchivesSpaceError(RuntimeError):
    """One request failed for good (after retries, including unreachable), or ArchivesSpace answered nonsense."""


class ArchivesSpaceAuthError(RuntimeError):
    """Logging in failed: nothing will work, whichever resource is asked for."""


# What makes one resource fail without saying anything about the others.
RESOURCE_ERRORS: tuple[type[BaseException], ...] = (ArchivesSpaceError,)


class ArchivesSpaceHook(BaseHook):
    conn_name_attr = "aspace_conn_id"
    default_conn_name = "aspace_default"
    conn_type = "http"
    hook_name = "ArchivesSpace"

    def __init__(
        self,
        aspace_conn_id: str = default_conn_name,
        *,
        max_connections: int = 8,
        attempts: int = 4,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 60.0,
    ) -> None:
        super().__init__()
        self.aspace_conn_id = aspace_conn_id
        self.max_connections = max_connections
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.timeout_seconds = timeout_seconds
        self._http: urllib3.PoolManager | None = None
        self._token: str | None = None
        self._login_lock = threading.Lock()
        self.logins = 0

    # -- connection and session -------------------------------------------
    def get_conn(self) -> urllib3.PoolManager:
        if self._http is None:
            import urllib3
            from urllib3.util.retry import Retry

            conn = self.get_connection(self.aspace_conn_id)
            scheme = conn.schema or "http"
            port = f":{conn.port}" if conn.port else ""
            self.base_url = f"{scheme}://{conn.host}{port}"
            self._credentials = (conn.login or "", conn.password or "")
            retry = Retry(
                total=self.attempts - 1,
                backoff_factor=self.backoff_seconds,
                status_forcelist=TRANSIENT_STATUSES,
                allowed_methods=None,  # login is a POST but safe to repeat
                raise_on_status=False,
            )
            self._http = urllib3.PoolManager(
                num_pools=1, maxsize=self.max_connections, retries=retry, timeout=self.timeout_seconds
            )
        return self._http

    def login(self) -> str:
        import urllib3

        http = self.get_conn()
        user, password = self._credentials
        try:
            response = http.request(
                "POST",
                f"{self.base_url}/users/{quote(user)}/login",
                fields={"password": password},
                encode_multipart=False,
            )
        except urllib3.exceptions.HTTPError as error:
            raise ArchivesSpaceAuthError(f"ArchivesSpace at {self.base_url} unreachable for login: {error}") from error
        if response.status != 200:
            raise ArchivesSpaceAuthError(
                f"ArchivesSpace login as {user!r} failed: HTTP {response.status} {_excerpt(response)}"
            )
        try:
            self._token = response.json()["session"]
        except (ValueError, KeyError, TypeError) as error:
            raise ArchivesSpaceAuthError(
                f"ArchivesSpace login answered without a session: {_excerpt(response)}"
            ) from error
        self.logins += 1
        return self._token

    def _renew_session(self, stale_token: str | None) -> None:
        with self._login_lock:
            if self._token == stale_token:  # another thread may have renewed it already
                self.login()

    def get(self, path: str, params: dict[str, Any] | None = None) -> urllib3.BaseHTTPResponse:
        """GET ``path`` with the session header, renewing the session once if it was lost."""
        import urllib3

        http = self.get_conn()
        if self._token is None:
            self._renew_session(None)
        for attempt in range(2):
            token = self._token
            try:
                response = http.request("GET", self.base_url + path, fields=params, headers={SESSION_HEADER: token})
            except urllib3.exceptions.HTTPError as error:
                raise ArchivesSpaceError(f"GET {path}: {error}") from error
            if response.status in SESSION_LOST_STATUSES:
                if attempt == 0:
                    self.log.info("ArchivesSpace session lost (HTTP %s on %s); logging in again", response.status, path)
                    self._renew_session(token)
                    continue
                raise ArchivesSpaceAuthError(f"GET {path}: HTTP {response.status} right after logging in")
            if response.status != 200:
                raise ArchivesSpaceError(f"GET {path}: HTTP {response.status} {_excerpt(response)}")
            return response
        raise AssertionError("unreachable")

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = self.get(path, params)
        try:
            return response.json()
        except ValueError as error:
            raise ArchivesSpaceError(f"GET {path}: malformed JSON ({error}): {_excerpt(response, 100)}") from error

    # -- the endpoints the pipelines use ----------------------------------
    def repositories(self) -> list[dict[str, Any]]:
        repositories = self.get_json("/repositories")
        if not isinstance(repositories, list) or not all(isinstance(r, dict) and "uri" in r for r in repositories):
            raise ArchivesSpaceError(
                f"GET /repositories: expected a list of repositories, got {str(repositories)[:200]}"
            )
        return repositories

    def resource_ids(self, repository_uri: str) -> list[int]:
        path = f"{repository_uri}/resources"
        ids = self.get_json(path, {"all_ids": "true"})
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise ArchivesSpaceError(f"GET {path}?all_ids=true: expected a list of ids, got {str(ids)[:200]}")
        return ids

    def resource_marc_xml(self, repository_uri: str, resource_id: int) -> bytes:
        """The raw MARC-XML export (a ``<collection>`` with one ``<record>``); unpublished notes left out."""
        return self.get(f"{repository_uri}/resources/marc21/{resource_id}.xml").data

    def top_containers(self, repository_uri: str, resource_uri: str) -> list[dict[str, Any]]:
        """The top containers (JSONModel, locations resolved) of a resource, every page of the search."""
        path = f"{repository_uri}/top_containers/search"
        query = f'collection_uri_u_sstr:"{resource_uri}"'
        containers: list[dict[str, Any]] = []
        while True:
            params = {"q": query} if not containers else {"q": query, "start": len(containers)}
            solr = self.get_json(path, params)
            try:
                docs = solr["response"]["docs"]
                found = int(solr["response"].get("numFound", len(docs)))
                containers += [json.loads(doc["json"]) for doc in docs]
            except (KeyError, TypeError, ValueError) as error:
                raise ArchivesSpaceError(
                    f"GET {path} for {resource_uri}: unexpected search result ({error!r})"
                ) from error
            if not docs or len(containers) >= found:
                return containers


def _excerpt(response: urllib3.BaseHTTPResponse, length: int = 200) -> str:
    return response.data[:length].decode("utf-8", errors="replace")
