"""ArchivesSpace's answers, checked where they enter: URI shapes, JSON shapes and types, XML-safe text.

Nothing ArchivesSpace sends is used before it passes here. URIs must be relative paths
of the shapes the export uses (``/repositories/<n>``, ``.../resources/<n>``,
``.../top_containers/<n>``), so no answer can point a request, and the session token
sent with it, at another host. Text that ends up in a 949 must be a string XML can
carry. A top-container search is paged within hard bounds. Every refusal is an
`AspaceDataError` naming the URI, search or container and what is wrong with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

_ID = "[1-9][0-9]{0,9}"  # ASCII digits only: `\d` would also take other scripts' digits
REPOSITORY_URI = re.compile(f"/repositories/{_ID}")
RESOURCE_URI = re.compile(f"/repositories/{_ID}/resources/{_ID}")
TOP_CONTAINER_URI = re.compile(f"/repositories/{_ID}/top_containers/{_ID}")
# The paths the hook requests; anything else is refused before a byte is sent.
API_PATH = re.compile(
    f"/repositories(/{_ID}(/resources(/marc21/{_ID}\\.xml)?|/top_containers/search))?"
)  # fmt: skip
MAX_ID = 2**31 - 1  # ArchivesSpace's ids are signed 32-bit database keys
# Bounds of one resource's container search: ArchivesSpace answers at most 10,000 top containers
# per search and the largest collections hold a few thousand boxes; more than ten times that,
# or more than 1,000 pages, is a server looping.
MAX_TOP_CONTAINERS = 100_000
MAX_SEARCH_PAGES = 1_000
MAX_TEXT = 255  # ArchivesSpace keeps barcodes, indicators and location codes in VARCHAR(255) columns
# Characters XML 1.0 cannot carry, and control characters, which no barcode, indicator,
# container type or location code holds.
_UNFIT_CHARACTER = re.compile("[^\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SHOWN = 80


class AspaceDataError(ValueError):
    """An answer of ArchivesSpace that must not be used; the message names where it came from."""


def show(value: Any) -> str:
    """A bounded, printable rendering of a hostile value for an error message."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def check_uri(uri: Any, shape: re.Pattern[str], what: str) -> str:
    if not isinstance(uri, str) or not shape.fullmatch(uri):
        form = shape.pattern.replace(_ID, "<n>")
        raise AspaceDataError(f"{what} URI {show(uri)} is not a relative URI of the form {form}")
    return uri


def check_api_path(path: str) -> str:
    if not API_PATH.fullmatch(path):
        raise AspaceDataError(f"refused to request {show(path)}: not an ArchivesSpace API path the export uses")
    return path


def repositories(payload: Any, where: str) -> list[dict[str, Any]]:
    """The repositories of ``GET /repositories``: objects with distinct, well-formed URIs."""
    if not isinstance(payload, list) or not all(isinstance(repository, dict) for repository in payload):
        raise AspaceDataError(f"{where}: expected a list of repositories, got {show(payload)}")
    uris = [check_uri(repository.get("uri"), REPOSITORY_URI, f"{where}: repository") for repository in payload]
    _refuse_repeats(uris, where)
    return payload


def resource_ids(payload: Any, where: str) -> list[int]:
    """The ids of ``GET <repository>/resources?all_ids=true``: distinct positive integers."""
    if not isinstance(payload, list):
        raise AspaceDataError(f"{where}: expected a list of resource ids, got {show(payload)}")
    for entry in payload:
        if isinstance(entry, bool) or not isinstance(entry, int) or not 0 < entry <= MAX_ID:
            raise AspaceDataError(f"{where}: resource id {show(entry)} is not an id (1 to {MAX_ID})")
    _refuse_repeats(payload, where)
    return payload


def _refuse_repeats(values: list[Any], where: str) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise AspaceDataError(f"{where}: {show(value)} is listed twice")
        seen.add(value)


@dataclass(frozen=True, slots=True)
class TopContainer:
    """What the export uses of a top container, checked: every text is XML-safe, one line."""

    uri: str
    barcode: str  # stripped; "" when the container has none
    type: str
    indicator: str
    location_code: str | None  # the ``classification`` of its FIRST location


def top_container(doc: Any, search: str) -> TopContainer:
    """The top container of one doc of a top-container search (its ``json`` field)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("json"), str):
        raise AspaceDataError(f"{search}: a doc without the JSON of its top container: {show(doc)}")
    data = _json_object(doc["json"], f"{search}: top container {show(doc.get('uri'))}")
    uri = check_uri(data.get("uri"), TOP_CONTAINER_URI, f"{search}: top container")
    classification = _first_location_classification(data, f"{search}: top container {uri}")
    return _checked_container(uri, data.get("barcode"), data.get("type"), data.get("indicator"), classification, search)


def _checked_container(
    uri: str, barcode: Any, type_: Any, indicator: Any, classification: Any, search: str
) -> TopContainer:
    where = f"{search}: top container {uri}"
    return TopContainer(
        uri=uri,
        barcode=_text(barcode, "barcode", where).strip(),
        type=_text(type_, "type", where),
        indicator=_text(indicator, "indicator", where),
        location_code=_text(classification, "classification", where) or None,
    )


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise AspaceDataError(f"{where}: malformed JSON ({type(error).__name__}): {show(text)}") from error
    if not isinstance(data, dict):
        raise AspaceDataError(f"{where}: expected a JSON object, got {show(data)}")
    return data


def _text(value: Any, key: str, where: str) -> str:
    """``value`` of ``key`` as text ("" when absent or null); refused when not a string XML can carry."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AspaceDataError(f"{where}: {key} is {type(value).__name__} {show(value)}, expected a string")
    if len(value) > MAX_TEXT:
        raise AspaceDataError(f"{where}: {key} {show(value)} is longer than {MAX_TEXT} characters")
    unfit = _UNFIT_CHARACTER.search(value)
    if unfit:
        raise AspaceDataError(
            f"{where}: {key} {show(value)} holds U+{ord(unfit.group()):04X}, which an XML record cannot carry"
        )
    return value


def _first_location_classification(data: dict[str, Any], where: str) -> Any:
    """The ``classification`` of the first container location, unchecked; None when there is none."""
    locations = data.get("container_locations")
    if locations is None:
        return None
    if not isinstance(locations, list):
        raise AspaceDataError(f"{where}: container_locations is {show(locations)}, expected a list")
    first = locations[0] if locations else None
    if first is None:
        return None
    if not isinstance(first, dict):
        raise AspaceDataError(f"{where}: its first container location is {show(first)}, expected an object")
    resolved = first.get("_resolved")
    if resolved is None:
        return None
    if not isinstance(resolved, dict):
        raise AspaceDataError(f"{where}: its first location's _resolved is {show(resolved)}, expected an object")
    return resolved.get("classification")


def search_page(payload: Any, search: str) -> tuple[int, list[Any]]:
    """``(numFound, docs)`` of one page of a Solr search answer."""
    response = payload.get("response") if isinstance(payload, dict) else None
    if not isinstance(response, dict) or not isinstance(response.get("docs"), list):
        raise AspaceDataError(f"{search}: not a search result: {show(payload)}")
    docs = response["docs"]
    found = response.get("numFound", len(docs))
    if isinstance(found, bool) or not isinstance(found, int) or found < 0:
        raise AspaceDataError(f"{search}: numFound {show(found)} is not a count")
    return found, docs


# What the export uses of a search answer, as msgspec decodes it without building the rest
# (a Solr doc holds some 40 fields; decoding them all was a fifth of the export's CPU).
class _Resolved(msgspec.Struct):
    classification: str | None = None


class _Location(msgspec.Struct):
    resolved: _Resolved | None = msgspec.field(default=None, name="_resolved")


class _ContainerJson(msgspec.Struct):
    uri: str | None = None
    barcode: str | None = None
    type: str | None = None
    indicator: str | None = None
    container_locations: list[_Location | None] | None = None


class _Doc(msgspec.Struct):
    json: str


class _Response(msgspec.Struct):
    docs: list[_Doc]
    numFound: Annotated[int, msgspec.Meta(ge=0)] | msgspec.UnsetType = msgspec.UNSET  # noqa: N815


class _SearchAnswer(msgspec.Struct):
    response: _Response


_SEARCH_ANSWER = msgspec.json.Decoder(_SearchAnswer)
_CONTAINER_JSON = msgspec.json.Decoder(_ContainerJson)


def read_search_page(body: bytes, search: str) -> tuple[int, list[TopContainer]]:
    """``(numFound, top containers)`` of one page of a top-container search, as it arrived.

    An answer of the expected shape and types is decoded by msgspec into only the fields
    used; any other goes through `json`, `search_page` and `top_container`, which name what
    is wrong. Both ways run the same checks in the same order on the same values, so an
    answer gives the same containers, or the same error, whichever way it took.
    """
    try:
        response = _SEARCH_ANSWER.decode(body).response
        docs = [_CONTAINER_JSON.decode(doc.json) for doc in response.docs]
    except (ValueError, RecursionError):  # msgspec's DecodeError and ValidationError are ValueErrors
        return _read_search_page_checking_shapes(body, search)
    containers = []
    for doc in docs:
        uri = check_uri(doc.uri, TOP_CONTAINER_URI, f"{search}: top container")
        first = doc.container_locations[0] if doc.container_locations else None
        classification = first.resolved.classification if first and first.resolved else None
        containers.append(_checked_container(uri, doc.barcode, doc.type, doc.indicator, classification, search))
    return (len(docs) if response.numFound is msgspec.UNSET else response.numFound), containers


def _read_search_page_checking_shapes(body: bytes, search: str) -> tuple[int, list[TopContainer]]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise AspaceDataError(f"{search}: malformed JSON ({type(error).__name__}): {show(body)}") from error
    found, docs = search_page(payload, search)
    return found, [top_container(doc, search) for doc in docs]


def collect_top_containers(fetch_page: Callable[[int], bytes], search: str) -> list[TopContainer]:
    """Every top container of a search, page by page: ``fetch_page(start)`` answers the page at ``start``.

    Stops at ``numFound`` (or an empty page); refuses a numFound or a total above
    `MAX_TOP_CONTAINERS`, a page repeating a container already seen, and more than
    `MAX_SEARCH_PAGES` pages.
    """
    containers: list[TopContainer] = []
    seen: set[str] = set()
    for _ in range(MAX_SEARCH_PAGES):
        start = len(containers)
        found, page = read_search_page(fetch_page(start), search)
        if max(found, start + len(page)) > MAX_TOP_CONTAINERS:
            raise AspaceDataError(
                f"{search}: {max(found, start + len(page))} top containers, above the cap of {MAX_TOP_CONTAINERS}"
            )
        for container in page:
            if container.uri in seen:
                raise AspaceDataError(f"{search}: the page at start {start} repeats {container.uri}")
            seen.add(container.uri)
            containers.append(container)
        if not page or len(containers) >= found:
            return containers
    raise AspaceDataError(
        f"{search}: {len(containers)} of {found} top containers after {MAX_SEARCH_PAGES} pages; gave up"
    )
