"""The ArchivesSpace stand-in: an aiohttp app answering like the real backend API.

Endpoints (shapes of ArchivesSpace v3.5):
    GET  /                                                   version info (readiness probe, no auth)
    POST /users/{user}/login?password=...                    {"session": ..., "user": {...}}
    GET  /repositories                                       [repository, ...]
    GET  /repositories/{r}/resources?all_ids=true            [id, ...]
    GET  /repositories/{r}/resources/marc21/{id}.xml         MARC21 slim <collection>
    GET  /repositories/{r}/top_containers/search?q=...       Solr JSON, at most 10,000 docs

Faults (set through /_standin/faults): transport and server errors (``reset``,
``error_5xx``, ``slow``, ``down``), broken bodies (``malformed_json``, ``invalid_xml``)
and hostile ones (``hostile_xml``; from `hostile`: ``crafted_uri``, ``hostile_container``,
``repeating_pages``, ``redirect``).

Admin endpoints (no auth, never faulted, not counted):
    GET/POST /_standin/faults    read / replace the fault configuration (JSON, see `FaultConfig`)
    POST /_standin/expire_sessions
    GET  /_standin/stats         request counts per endpoint kind, per resource, statuses, concurrency
    POST /_standin/reset         back to the start-up state: start-up faults, no sessions, zero stats
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import secrets
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devstack.aspace_standin.data import Dataset, solr_doc
from devstack.aspace_standin.hostile import (
    CONTAINER_BREAKS,
    CONTAINER_VARIANTS,
    REPEATED_NUM_FOUND,
    crafted_repository_uri,
    endless_first_page,
    hostile_container,
)

log = logging.getLogger("aspace_standin")

SEARCH_RESULT_CAP = 10_000  # ArchivesSpace's AppConfig[:max_top_container_results]
ARCHIVESSPACE_VERSION = "v3.5.1"

DATA_ENDPOINTS = ("login", "repositories", "resource_ids", "marc", "top_containers")
ENDPOINT_KINDS = ("root", *DATA_ENDPOINTS)
JSON_ENDPOINTS = frozenset({"root", "login", "repositories", "resource_ids", "top_containers"})
# Which endpoint kinds each fault kind can hit.
FAULT_TARGETS = {
    "reset": frozenset(ENDPOINT_KINDS),
    "error_5xx": frozenset(ENDPOINT_KINDS),
    "slow": frozenset(ENDPOINT_KINDS),
    "malformed_json": JSON_ENDPOINTS,
    "hostile_xml": frozenset({"marc"}),
    "invalid_xml": frozenset({"marc"}),
    "crafted_uri": frozenset({"repositories"}),
    "hostile_container": frozenset({"top_containers"}),
    "repeating_pages": frozenset({"top_containers"}),
    "redirect": frozenset(ENDPOINT_KINDS),
}
FAULT_KINDS = tuple(FAULT_TARGETS)
HOSTILE_VARIANTS = ("billion_laughs", "external_entity", "mixed")

_SEARCH_QUERY = re.compile(r'^collection_uri_u_sstr:"?/repositories/(\d+)/resources/(\d+)"?$')


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------


@dataclass
class FaultRule:
    """One fault kind: fires for listed resources (at most `times` each, if set) and at `rate` otherwise."""

    rate: float = 0.0
    resource_ids: frozenset[int] = frozenset()
    times: int | None = None
    endpoints: frozenset[str] = frozenset(DATA_ENDPOINTS)  # where `rate` applies; "root" only if asked
    seconds: float = 2.0  # slow
    statuses: tuple[int, ...] = (500, 502, 503)  # error_5xx
    variant: str = "mixed"  # hostile_xml, hostile_container
    uri: str = ""  # crafted_uri: the repository uri answered
    location: str = ""  # redirect: where to
    num_found: int = REPEATED_NUM_FOUND  # repeating_pages

    @classmethod
    def parse(cls, kind: str, spec: Any) -> FaultRule:
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = {"rate": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"{kind}: expected a rate or an object, got {spec!r}")
        allowed = {"rate", "resource_ids", "times", "endpoints"} | _KIND_OPTIONS.get(kind, set())
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"{kind}: unknown option(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
        rule = cls(
            rate=float(spec.get("rate", 0.0)),
            resource_ids=frozenset(int(i) for i in spec.get("resource_ids", ())),
            times=None if spec.get("times") is None else int(spec["times"]),
            endpoints=frozenset(spec.get("endpoints", DATA_ENDPOINTS)),
            seconds=float(spec.get("seconds", 2.0)),
            statuses=tuple(int(s) for s in spec.get("statuses", (500, 502, 503))),
            variant=spec.get("variant", "mixed"),
            uri=str(spec.get("uri", "")),
            location=str(spec.get("location", "")),
            num_found=int(spec.get("num_found", REPEATED_NUM_FOUND)),
        )
        rule._validate(kind)
        return rule

    def _validate(self, kind: str) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"{kind}: rate must be within 0..1")
        if self.endpoints - set(ENDPOINT_KINDS):
            raise ValueError(f"{kind}: endpoints must be among {list(ENDPOINT_KINDS)}")
        if not self.statuses or any(not 500 <= s <= 599 for s in self.statuses):
            raise ValueError(f"{kind}: statuses must be 5xx codes")
        variants = _KIND_VARIANTS.get(kind, ("mixed",))
        if self.variant not in variants:
            raise ValueError(f"{kind}: variant must be one of {list(variants)}")
        if kind in _REQUIRED_OPTION and not getattr(self, _REQUIRED_OPTION[kind]):
            raise ValueError(f"{kind}: option {_REQUIRED_OPTION[kind]!r} is required")
        if self.num_found < 0:
            raise ValueError(f"{kind}: num_found must not be negative")

    def to_json(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rate": self.rate,
            "resource_ids": sorted(self.resource_ids),
            "times": self.times,
            "endpoints": sorted(self.endpoints),
        }
        for option in sorted(_KIND_OPTIONS.get(kind, set())):
            value = getattr(self, option)
            out[option] = list(value) if isinstance(value, tuple) else value
        return out


_KIND_OPTIONS = {
    "slow": {"seconds"},
    "error_5xx": {"statuses"},
    "hostile_xml": {"variant"},
    "hostile_container": {"variant"},
    "crafted_uri": {"uri"},
    "redirect": {"location"},
    "repeating_pages": {"num_found"},
}
_KIND_VARIANTS = {"hostile_xml": HOSTILE_VARIANTS, "hostile_container": CONTAINER_VARIANTS}
_REQUIRED_OPTION = {"crafted_uri": "uri", "redirect": "location"}


@dataclass
class FaultConfig:
    """The whole fault configuration; its JSON form is what /_standin/faults reads and writes:

    {"down": false, "seed": 0,
     "error_5xx": {"rate": 0.1, "resource_ids": [4, 7], "times": 2, "statuses": [502]},
     "reset": 0.05, ...}                      (a bare number is a rate)
    """

    down: bool = False
    seed: int = 0
    rules: dict[str, FaultRule] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: dict[str, Any] | None) -> FaultConfig:
        spec = dict(spec or {})
        down = spec.pop("down", False)
        seed = spec.pop("seed", 0)
        if not isinstance(down, bool) or not isinstance(seed, int):
            raise ValueError("'down' must be a boolean and 'seed' an integer")
        unknown = set(spec) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; known: {list(FAULT_KINDS)}")
        return cls(down=down, seed=seed, rules={kind: FaultRule.parse(kind, value) for kind, value in spec.items()})

    def to_json(self) -> dict[str, Any]:
        return {"down": self.down, "seed": self.seed, **{k: rule.to_json(k) for k, rule in self.rules.items()}}


class FaultInjector:
    """Decides, per request, which faults fire; draws come from an RNG seeded by the config."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._fired_for_resource: Counter[tuple[str, int]] = Counter()

    @property
    def down(self) -> bool:
        return self.config.down

    def firing(self, kind: str, endpoint: str, resource_id: int | None) -> FaultRule | None:
        """The rule of `kind` if it fires for this request, else None."""
        rule = self.config.rules.get(kind)
        if rule is None or endpoint not in FAULT_TARGETS[kind]:
            return None
        if resource_id in rule.resource_ids and endpoint in ("marc", "top_containers"):
            key = (kind, resource_id)
            if rule.times is None or self._fired_for_resource[key] < rule.times:
                self._fired_for_resource[key] += 1
                return rule
        if rule.rate > 0 and endpoint in rule.endpoints and self._rng.random() < rule.rate:
            return rule
        return None

    def choice(self, options: tuple[Any, ...]) -> Any:
        return self._rng.choice(options)


# --------------------------------------------------------------------------
# Sessions and statistics
# --------------------------------------------------------------------------


class SessionStore:
    """Sessions that expire after `ttl` seconds without use, like ArchivesSpace's."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._last_used: dict[str, float] = {}

    def create(self) -> str:
        token = secrets.token_hex(32)
        self._last_used[token] = self._clock()
        return token

    def check(self, token: str) -> str | None:
        """None if the session is valid (and refresh it), else the error code."""
        last_used = self._last_used.get(token)
        if last_used is None:
            return "SESSION_GONE"
        now = self._clock()
        if now - last_used > self.ttl:
            return "SESSION_EXPIRED"
        self._last_used[token] = now
        return None

    def clear(self) -> None:
        self._last_used.clear()

    def expire_all(self) -> int:
        for token in self._last_used:
            self._last_used[token] = float("-inf")
        return len(self._last_used)

    def active(self) -> int:
        now = self._clock()
        return sum(1 for last_used in self._last_used.values() if now - last_used <= self.ttl)


class Stats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.by_resource: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.logins = 0
        self.unpublished_marc_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def begin(self, kind: str, resource_uri: str | None) -> None:
        self.requests[kind] += 1
        if resource_uri:
            self.by_resource[resource_uri][kind] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end(self, status: int | None) -> None:
        self.in_flight -= 1
        if status is not None:
            self.statuses[str(status)] += 1

    def to_json(self, sessions: SessionStore) -> dict[str, Any]:
        return {
            "requests": {kind: self.requests[kind] for kind in ENDPOINT_KINDS} | dict(self.requests),
            "total_requests": sum(self.requests.values()),
            "statuses": dict(self.statuses),
            "faults": dict(self.faults),
            "resources": {uri: dict(counts) for uri, counts in self.by_resource.items()},
            "logins": self.logins,
            "active_sessions": sessions.active(),
            "unpublished_marc_requests": self.unpublished_marc_requests,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }


class ActivityLog:
    """Logs a one-line summary at most every `interval` seconds, never one line per request."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._since = time.monotonic()
        self._counts: Counter[str] = Counter()

    def record(self, kind: str) -> None:
        self._counts[kind] += 1
        now = time.monotonic()
        if self.interval > 0 and now - self._since >= self.interval:
            summary = ", ".join(f"{k}={n}" for k, n in sorted(self._counts.items()))
            log.info("%d requests in %.0fs (%s)", sum(self._counts.values()), now - self._since, summary)
            self._since, self._counts = now, Counter()


# --------------------------------------------------------------------------
# Application state
# --------------------------------------------------------------------------


@dataclass
class StandinState:
    dataset: Dataset
    user: str
    password: str
    sessions: SessionStore
    latency: float  # seconds added to every non-admin request
    startup_faults: FaultConfig
    search_cap: int
    activity: ActivityLog
    cache_responses: bool = False
    faults: FaultInjector = field(init=False)
    stats: Stats = field(default_factory=Stats)
    rendered: dict[tuple, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.faults = FaultInjector(self.startup_faults)

    def render(self, key: tuple, body: Callable[[], bytes]) -> bytes:
        """``body()``, kept after the first call when ``cache_responses`` is on: the data is
        deterministic, so a cached answer is byte for byte the one rendered again. Used by
        the benchmark, where the stand-in shares the client's cores and its rendering would
        otherwise be measured as the client's time (a real ArchivesSpace is another machine)."""
        if not self.cache_responses:
            return body()
        cached = self.rendered.get(key)
        if cached is None:
            cached = self.rendered[key] = body()
        return cached


STATE = web.AppKey("standin_state", StandinState)


def create_app(
    *,
    dataset: Dataset | None = None,
    seed: int = 0,
    repositories: int = 3,
    resources: int = 48,
    containers: int = 480,
    latency_ms: float = 0.0,
    user: str = "admin",
    password: str = "admin",
    session_ttl: float = 3600.0,
    faults: dict[str, Any] | FaultConfig | None = None,
    search_cap: int = SEARCH_RESULT_CAP,
    log_interval: float = 10.0,
    cache_responses: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> web.Application:
    """The stand-in app; pass `dataset` or the (seed, repositories, resources, containers) to build one."""
    state = StandinState(
        dataset=dataset or Dataset(seed=seed, repositories=repositories, resources=resources, containers=containers),
        user=user,
        password=password,
        sessions=SessionStore(session_ttl, clock),
        latency=latency_ms / 1000.0,
        startup_faults=faults if isinstance(faults, FaultConfig) else FaultConfig.parse(faults),
        search_cap=search_cap,
        activity=ActivityLog(log_interval),
        cache_responses=cache_responses,
    )
    app = web.Application(middlewares=[_standin_middleware])
    app[STATE] = state
    routes = [
        web.get("/", _root, name="root"),
        web.post("/users/{user}/login", _login, name="login"),
        web.get("/repositories", _repositories, name="repositories"),
        web.get(r"/repositories/{repo_id:\d+}/resources", _resource_ids, name="resource_ids"),
        web.get(r"/repositories/{repo_id:\d+}/resources/marc21/{resource_id:\d+}.xml", _marc, name="marc"),
        web.get(r"/repositories/{repo_id:\d+}/top_containers/search", _top_containers, name="top_containers"),
        web.get("/_standin/faults", _get_faults, name="admin_get_faults"),
        web.post("/_standin/faults", _set_faults, name="admin_set_faults"),
        web.post("/_standin/expire_sessions", _expire_sessions, name="admin_expire_sessions"),
        web.get("/_standin/stats", _stats, name="admin_stats"),
        web.post("/_standin/reset", _reset, name="admin_reset"),
    ]
    app.add_routes(routes)
    return app


# --------------------------------------------------------------------------
# Middleware: stats, latency, faults, sessions
# --------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _standin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    kind = _endpoint_kind(request)
    if kind.startswith("admin"):
        return await handler(request)
    state = request.app[STATE]
    stats = state.stats  # a reset during the request must not unbalance the new counters
    resource = _requested_resource(request, kind)
    stats.begin(kind, f"/repositories/{resource[0]}/resources/{resource[1]}" if resource else None)
    state.activity.record(kind)
    status = None
    try:
        response = await _serve(request, handler, state, kind, resource[1] if resource else None)
        if request.transport is not None and not request.transport.is_closing():
            status = response.status  # an aborted connection got no status at all
        return response
    finally:
        stats.end(status)


async def _serve(
    request: web.Request, handler: Handler, state: StandinState, kind: str, resource_id: int | None
) -> web.StreamResponse:
    if state.latency:
        await asyncio.sleep(state.latency)
    faults = state.faults
    if faults.down:
        state.stats.faults["down"] += 1
        return _html_error(503, "Service Temporarily Unavailable")
    if faults.firing("reset", kind, resource_id):
        state.stats.faults["reset"] += 1
        _abort_connection(request)
        return web.Response(status=500)  # never sent: the transport is gone
    if rule := faults.firing("error_5xx", kind, resource_id):
        state.stats.faults["error_5xx"] += 1
        return _server_error(faults.choice(rule.statuses))
    if rule := faults.firing("redirect", kind, resource_id):
        state.stats.faults["redirect"] += 1
        return web.Response(status=302, headers={"Location": rule.location})
    if rule := faults.firing("slow", kind, resource_id):
        state.stats.faults["slow"] += 1
        await asyncio.sleep(rule.seconds)
    if kind == "unknown":
        return await _unknown_route(request, handler)
    if kind not in ("root", "login"):
        refusal = _check_session(request, state.sessions)
        if refusal is not None:
            return refusal
    response = await handler(request)
    if response.status == 200 and isinstance(response, web.Response):
        return _corrupt_body(response, state, kind, resource_id)
    return response


async def _unknown_route(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's 404/405, with the JSON body ArchivesSpace (Sinatra) gives."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        name = "Sinatra::NotFound" if error.status == 404 else error.reason
        return _json({"error": name}, status=error.status)


def _endpoint_kind(request: web.Request) -> str:
    """The route name; "unknown" for paths the API does not have."""
    return request.match_info.route.name or "unknown"


def _requested_resource(request: web.Request, kind: str) -> tuple[int, int] | None:
    if kind == "marc":
        return int(request.match_info["repo_id"]), int(request.match_info["resource_id"])
    if kind == "top_containers":
        match = _SEARCH_QUERY.match(request.query.get("q", ""))
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def _check_session(request: web.Request, sessions: SessionStore) -> web.Response | None:
    token = request.headers.get("X-ArchivesSpace-Session", "")
    code = sessions.check(token) if token else "SESSION_GONE"
    if code is None:
        return None
    message = f"No session found for {token}" if code == "SESSION_GONE" else f"Session timed out for {token}"
    return _json({"code": code, "error": message}, status=412)


def _abort_connection(request: web.Request) -> None:
    """Close the socket with SO_LINGER 0, so the client sees a TCP RST and no response."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _corrupt_body(response: web.Response, state: StandinState, kind: str, resource_id: int | None) -> web.Response:
    faults = state.faults
    body = response.body if isinstance(response.body, bytes) else b""
    if faults.firing("malformed_json", kind, resource_id):
        state.stats.faults["malformed_json"] += 1
        return _raw(body[: max(1, len(body) // 2)], "application/json")
    if rule := faults.firing("crafted_uri", kind, resource_id):
        state.stats.faults["crafted_uri"] += 1
        return _raw(crafted_repository_uri(body, rule.uri), "application/json")
    if rule := faults.firing("hostile_container", kind, resource_id):
        state.stats.faults["hostile_container"] += 1
        variant = rule.variant
        if variant == "mixed":
            variant = faults.choice(CONTAINER_BREAKS)
        return _raw(hostile_container(body, variant), "application/json")
    if rule := faults.firing("hostile_xml", kind, resource_id):
        state.stats.faults["hostile_xml"] += 1
        variant = rule.variant
        if variant == "mixed":
            variant = faults.choice(("billion_laughs", "external_entity"))
        return _raw(billion_laughs() if variant == "billion_laughs" else external_entity(body), "application/xml")
    if faults.firing("invalid_xml", kind, resource_id):
        state.stats.faults["invalid_xml"] += 1
        return _raw(body[: len(body) * 3 // 5], "application/xml")
    return response


def billion_laughs() -> bytes:
    """A MARC-looking document whose entities expand to 10**9 'lol's if a parser lets them."""
    entities = ['  <!ENTITY lol0 "lol">'] + [
        f'  <!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE collection [\n'
        + "\n".join(entities)
        + '\n]>\n<collection xmlns="http://www.loc.gov/MARC21/slim"><record>'
        "<leader>00000npcaa2200000 u 4500</leader>"
        '<datafield ind1=" " ind2=" " tag="520"><subfield code="a">&lol9;</subfield></datafield>'
        "</record></collection>\n"
    ).encode()


def external_entity(marc: bytes) -> bytes:
    """The real record with an external entity that would pull /etc/passwd into its 520."""
    declaration, _, rest = marc.partition(b"\n")
    doctype = b'<!DOCTYPE collection [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>'
    rest = re.sub(rb'(tag="520">\s*<subfield code="a">)', rb"\1&xxe; ", rest, count=1)
    return declaration + b"\n" + doctype + b"\n" + rest


def _server_error(status: int) -> web.Response:
    if status == 500:
        return _json({"error": "Internal Server Error"}, status=500)
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}.get(status, "Error")
    return _html_error(status, reason)


def _html_error(status: int, reason: str) -> web.Response:
    """What the nginx in front of ArchivesSpace answers when the backend is unavailable."""
    html = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=html, content_type="text/html")


# --------------------------------------------------------------------------
# API handlers
# --------------------------------------------------------------------------


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _json(payload: Any, status: int = 200) -> web.Response:
    return _raw(_json_bytes(payload), "application/json", status)


def _raw(body: bytes, content_type: str, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=content_type)


def _not_found(what: str) -> web.Response:
    return _json({"error": f"{what} not found"}, status=404)


async def _root(request: web.Request) -> web.Response:
    return _json(
        {
            "databaseProductName": "MySQL",
            "databaseProductVersion": "8.0.36",
            "ruby_version": "3.1.4",
            "host_url": f"{request.scheme}://{request.host}",
            "archivesSpaceVersion": ARCHIVESSPACE_VERSION,
        }
    )


async def _login(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await request.post()
    password = request.query.get("password", form.get("password"))
    username = request.match_info["user"]
    if username != state.user or password != state.password:
        return _json({"error": "Login failed"}, status=403)
    state.stats.logins += 1
    return _json({"session": state.sessions.create(), "user": _user_json(username)})


def _user_json(username: str) -> dict[str, Any]:
    return {
        "lock_version": 0,
        "username": username,
        "name": "Administrator",
        "is_system_user": True,
        "create_time": "2016-06-27T14:10:31Z",
        "system_mtime": "2016-06-27T14:10:31Z",
        "user_mtime": "2016-06-27T14:10:31Z",
        "jsonmodel_type": "user",
        "groups": [],
        "is_active_user": True,
        "is_admin": True,
        "uri": "/users/1",
        "agent_record": {"ref": "/agents/people/1"},
        "permissions": {"/repositories/1": ["view_repository", "update_resource_record"], "_archivesspace": []},
    }


async def _repositories(request: web.Request) -> web.Response:
    return _json(request.app[STATE].dataset.repositories())


async def _resource_ids(request: web.Request) -> web.Response:
    dataset = request.app[STATE].dataset
    repo_id = int(request.match_info["repo_id"])
    if repo_id not in dataset.repository_ids():
        return _not_found("Repository")
    if request.query.get("all_ids", "").lower() not in ("true", "1"):
        if "page" not in request.query:
            return _json({"error": {"page": ["Parameter required but no value provided"]}}, status=400)
        return _json({"error": "the stand-in serves resource lists only with all_ids=true"}, status=400)
    return _json(dataset.resource_ids(repo_id))


async def _marc(request: web.Request) -> web.Response:
    state = request.app[STATE]
    repo_id, resource_id = int(request.match_info["repo_id"]), int(request.match_info["resource_id"])
    if not state.dataset.has_resource(repo_id, resource_id):
        return _not_found("Resource")
    include_unpublished = request.query.get("include_unpublished_marc", "").lower() == "true"
    if include_unpublished:
        state.stats.unpublished_marc_requests += 1
    body = state.render(
        ("marc", repo_id, resource_id, include_unpublished),
        lambda: state.dataset.marc_xml(repo_id, resource_id, include_unpublished),
    )
    return _raw(body, "application/xml")


async def _top_containers(request: web.Request) -> web.Response:
    state = request.app[STATE]
    repo_id = int(request.match_info["repo_id"])
    query = request.query.get("q")
    if repo_id not in state.dataset.repository_ids():
        return _not_found("Repository")
    if query is None:
        return _json({"error": {"q": ["Parameter required but no value provided"]}}, status=400)
    rows = min(_int_param(request, ("page_size", "rows"), state.search_cap), state.search_cap)
    start = (max(_int_param(request, ("page",), 1), 1) - 1) * rows
    if "start" in request.query:
        start = max(_int_param(request, ("start",), 0), 0)
    resource = _requested_resource(request, "top_containers")
    if rule := state.faults.firing("repeating_pages", "top_containers", resource[1] if resource else None):
        state.stats.faults["repeating_pages"] += 1
        return _raw(
            endless_first_page(_search_body(state, repo_id, query, 0, rows), rule.num_found), "application/json"
        )
    body = state.render(
        ("search", repo_id, query, start, rows), lambda: _search_body(state, repo_id, query, start, rows)
    )
    return _raw(body, "application/json")


def _search_body(state: StandinState, repo_id: int, query: str, start: int, rows: int) -> bytes:
    match = _SEARCH_QUERY.match(query)
    docs: list[dict[str, Any]] = []
    found = 0
    if match and int(match.group(1)) == repo_id and state.dataset.has_resource(repo_id, int(match.group(2))):
        resource_id = int(match.group(2))
        found = state.dataset.container_total(repo_id, resource_id)
        docs = [solr_doc(tc) for tc in state.dataset.top_containers(repo_id, resource_id, start, start + rows)]
    payload = {
        "responseHeader": {
            "status": 0,
            "QTime": 1 + len(docs) // 100,
            "params": {
                "q": query,
                "fq": [f'repository:"/repositories/{repo_id}" OR repository:global', "types:top_container"],
                "start": str(start),
                "rows": str(rows),
                "wt": "json",
            },
        },
        "response": {"numFound": found, "start": start, "numFoundExact": True, "docs": docs},
    }
    return _json_bytes(payload)


def _int_param(request: web.Request, names: tuple[str, ...], default: int) -> int:
    for name in names:
        try:
            return int(request.query[name])
        except (KeyError, ValueError):
            continue
    return default


# --------------------------------------------------------------------------
# Admin handlers
# --------------------------------------------------------------------------


async def _get_faults(request: web.Request) -> web.Response:
    return _json(request.app[STATE].faults.config.to_json())


async def _set_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        spec = await request.json() if request.can_read_body else {}
        config = FaultConfig.parse(spec)
    except (ValueError, TypeError) as error:
        return _json({"error": str(error)}, status=400)
    state.faults = FaultInjector(config)
    log.info("faults set: %s", json.dumps(config.to_json()))
    return _json(config.to_json())


async def _expire_sessions(request: web.Request) -> web.Response:
    return _json({"expired": request.app[STATE].sessions.expire_all()})


async def _stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return _json(state.stats.to_json(state.sessions))


async def _reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.faults = FaultInjector(state.startup_faults)
    state.sessions.clear()
    state.stats = Stats()
    return _json({"reset": True, "faults": state.startup_faults.to_json()})


# --------------------------------------------------------------------------
# Running in a background thread (tests, benchmarks)
# --------------------------------------------------------------------------


class BackgroundServer:
    """Serves an app on a loopback port from a daemon thread with its own event loop.

    with BackgroundServer(create_app(resources=30)) as server:
        requests.get(server.url + "/")
    """

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        self._thread = threading.Thread(target=self._loop.run_forever, name="aspace-standin", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> StandinState:
        return self.app[STATE]

    def start(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
