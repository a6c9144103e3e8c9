"""A hook for the ArchivesSpace backend API over the ``aspace_default`` connection.

The connection's host/port/schema locate the backend API, login/password the
user. Sessions: log in once, send ``X-ArchivesSpace-Session`` on every request,
and on 401/403/412 (``SESSION_GONE``/``SESSION_EXPIRED``) log in again once and
retry. Transient failures (connection errors, timeouts, 5xx) are retried with
exponential backoff by urllib3's ``Retry``, as the old job did with 4 attempts.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from airflow.sdk import BaseHook

SESSION_HEADER = "X-ArchivesSpace-Session"
SESSION_LOST_STATUSES = (401, 403, 412)


class ArchivesSpaceError(RuntimeError):
    """ArchivesSpace answered, but not with what the API promises."""


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
        self._http: requests.Session | None = None
        self._token: str | None = None
        self._login_lock = threading.Lock()

    # -- connection and session -------------------------------------------
    def get_conn(self) -> requests.Session:
        if self._http is None:
            conn = self.get_connection(self.aspace_conn_id)
            scheme = conn.schema or "http"
            port = f":{conn.port}" if conn.port else ""
            self.base_url = f"{scheme}://{conn.host}{port}"
            self._credentials = (conn.login, conn.password)
            retry = Retry(
                total=self.attempts - 1,
                backoff_factor=self.backoff_seconds,
                status_forcelist=(500, 502, 503, 504),
                allowed_methods=None,  # login is a POST but safe to repeat
                raise_on_status=False,
            )
            adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=self.max_connections)
            self._http = requests.Session()
            self._http.mount("http://", adapter)
            self._http.mount("https://", adapter)
        return self._http

    def login(self) -> str:
        http = self.get_conn()
        user, password = self._credentials
        response = http.post(
            f"{self.base_url}/users/{quote(user)}/login", params={"password": password}, timeout=self.timeout_seconds
        )
        if response.status_code != 200:
            raise ArchivesSpaceError(f"ArchivesSpace login as {user!r} failed: HTTP {response.status_code} {response.text[:200]}")
        self._token = self._json(response, "login")["session"]
        return self._token

    def _renew_session(self, stale_token: str | None) -> None:
        with self._login_lock:
            if self._token == stale_token:  # another thread may have renewed it already
                self.login()

    def get(self, path: str, params: dict[str, Any] | None = None) -> requests.Response:
        """GET ``path`` with the session header, renewing the session once if it was lost."""
        http = self.get_conn()
        if self._token is None:
            self._renew_session(None)
        for attempt in range(2):
            token = self._token
            response = http.get(
                self.base_url + path, params=params, headers={SESSION_HEADER: token}, timeout=self.timeout_seconds
            )
            if response.status_code in SESSION_LOST_STATUSES and attempt == 0:
                self.log.info("ArchivesSpace session lost (HTTP %s); logging in again", response.status_code)
                self._renew_session(token)
                continue
            if response.status_code != 200:
                raise ArchivesSpaceError(f"GET {path}: HTTP {response.status_code} {response.text[:200]}")
            return response
        raise ArchivesSpaceError(f"GET {path}: session lost again right after logging in")

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError as error:
            raise ArchivesSpaceError(f"{what}: malformed JSON from ArchivesSpace ({error})") from error

    # -- the endpoints the pipelines use ----------------------------------
    def repositories(self) -> list[dict[str, Any]]:
        return self._json(self.get("/repositories"), "GET /repositories")

    def resource_ids(self, repository_uri: str) -> list[int]:
        path = f"{repository_uri}/resources"
        return self._json(self.get(path, {"all_ids": "true"}), f"GET {path}")

    def resource_marc_xml(self, repository_uri: str, resource_id: int) -> bytes:
        """The raw MARC-XML export (a ``<collection>`` with one ``<record>``)."""
        return self.get(f"{repository_uri}/resources/marc21/{resource_id}.xml").content

    def top_containers(self, repository_uri: str, resource_uri: str) -> list[dict[str, Any]]:
        """The top-container JSON documents of a resource, locations resolved."""
        path = f"{repository_uri}/top_containers/search"
        solr = self._json(self.get(path, {"q": f'collection_uri_u_sstr:"{resource_uri}"'}), f"GET {path} for {resource_uri}")
        return [json.loads(doc["json"]) for doc in solr["response"]["docs"]]
