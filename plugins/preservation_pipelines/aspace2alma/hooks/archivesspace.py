"""A hook for the ArchivesSpace backend API over the ``aspace_default`` connection.

The connection's host/port/schema locate the backend API, login/password the
user. Sessions: log in once, send ``X-ArchivesSpace-Session`` on every request,
and on 401/403/412 (``SESSION_GONE``/``SESSION_EXPIRED``) log in again once and
retry. Transient failures (connection errors and resets, timeouts, 5xx) are
retried with exponential backoff by urllib3's ``Retry`` (4 attempts, as the old
job made). The HTTP client is a thread-safe urllib3 connection pool bound to the
connection's host (requests on top of urllib3 added ~0.25 ms of CPU per call here,
urllib3's ``PoolManager`` and its URL handling another ~0.1 ms, which an export of tens
of thousands of calls feels); it holds ``max_connections`` connections, so the hook can
be shared by that many threads. The backend API is reached directly (no proxy). urllib3
is imported on first use, not with this module, which DAG files import (~0.1 s).

Nothing a response says can move a request elsewhere: only the API paths of
`include.aspace2alma.aspace_data` are requested, on the connection's base URL, and
redirects are not followed (the session header would go along). Every answer is
checked there before use; a refused one is an ``AspaceDataError`` naming it.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseHook

from include.aspace2alma import aspace_data
from include.aspace2alma.aspace_data import REPOSITORY_URI, RESOURCE_URI, TopContainer, check_api_path, check_uri

if TYPE_CHECKING:
    import urllib3

SESSION_HEADER = "X-ArchivesSpace-Session"
SESSION_LOST_STATUSES = (401, 403, 412)
TRANSIENT_STATUSES = (500, 502, 503, 504)
SESSION_TOKEN = re.compile(r"[\x21-\x7e]{1,1024}")  # it is sent back as a header value


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
        self._http: urllib3.HTTPConnectionPool | None = None
        self._token: str | None = None
        self._login_lock = threading.Lock()
        self.logins = 0

    # -- connection and session -------------------------------------------
    def get_conn(self) -> urllib3.HTTPConnectionPool:
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
            self._http = urllib3.connection_from_url(
                self.base_url, maxsize=self.max_connections, retries=retry, timeout=self.timeout_seconds
            )
        return self._http

    def login(self) -> str:
        import urllib3

        http = self.get_conn()
        user, password = self._credentials
        try:
            response = http.request(
                "POST",
                f"/users/{quote(user, safe='')}/login",
                fields={"password": password},
                encode_multipart=False,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as error:
            raise ArchivesSpaceAuthError(f"ArchivesSpace at {self.base_url} unreachable for login: {error}") from error
        if response.status != 200:
            raise ArchivesSpaceAuthError(
                f"ArchivesSpace login as {user!r} failed: HTTP {response.status} {_excerpt(response)}"
            )
        try:
            token = response.json()["session"]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise ArchivesSpaceAuthError(
                f"ArchivesSpace login answered without a session: {_excerpt(response)}"
            ) from error
        if not isinstance(token, str) or not SESSION_TOKEN.fullmatch(token):
            raise ArchivesSpaceAuthError(
                f"ArchivesSpace login answered a session that is no token: {_excerpt(response)}"
            )
        self._token = token
        self.logins += 1
        return self._token

    def _renew_session(self, stale_token: str | None) -> None:
        with self._login_lock:
            if self._token == stale_token:  # another thread may have renewed it already
                self.login()

    def get(self, path: str, params: dict[str, Any] | None = None) -> urllib3.BaseHTTPResponse:
        """GET ``path`` (an API path the export uses) with the session header, renewing a lost session once."""
        import urllib3

        check_api_path(path)
        target = f"{path}?{urlencode(params)}" if params else path
        http = self.get_conn()
        if self._token is None:
            self._renew_session(None)
        for attempt in range(2):
            token = self._token
            try:
                response = http.urlopen("GET", target, headers={SESSION_HEADER: token}, redirect=False)
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
        except (ValueError, RecursionError) as error:
            raise ArchivesSpaceError(f"GET {path}: malformed JSON ({error}): {_excerpt(response, 100)}") from error

    # -- the endpoints the pipelines use ----------------------------------
    def repositories(self) -> list[dict[str, Any]]:
        return aspace_data.repositories(self.get_json("/repositories"), "GET /repositories")

    def resource_ids(self, repository_uri: str) -> list[int]:
        path = f"{check_uri(repository_uri, REPOSITORY_URI, 'repository')}/resources"
        return aspace_data.resource_ids(self.get_json(path, {"all_ids": "true"}), f"GET {path}?all_ids=true")

    def resource_marc_xml(self, repository_uri: str, resource_id: int) -> bytes:
        """The raw MARC-XML export (a ``<collection>`` with one ``<record>``); unpublished notes left out."""
        check_uri(repository_uri, REPOSITORY_URI, "repository")
        return self.get(f"{repository_uri}/resources/marc21/{resource_id}.xml").data

    def top_containers(self, repository_uri: str, resource_uri: str) -> list[TopContainer]:
        """The top containers of a resource (locations resolved), every page of the search, checked."""
        path = f"{check_uri(repository_uri, REPOSITORY_URI, 'repository')}/top_containers/search"
        check_uri(resource_uri, RESOURCE_URI, "resource")
        query = f'collection_uri_u_sstr:"{resource_uri}"'

        def page(start: int) -> bytes:
            return self.get(path, {"q": query} if not start else {"q": query, "start": start}).data

        return aspace_data.collect_top_containers(page, f"GET {path} for {resource_uri}")


def _excerpt(response: urllib3.BaseHTTPResponse, length: int = 200) -> str:
    return response.data[:length].decode("utf-8", errors="replace")
