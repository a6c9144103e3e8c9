"""Hostile answers of the stand-in: what a compromised ArchivesSpace, or a broken proxy in front of it, sends.

Each function rewrites a well-formed answer of the stand-in; the fault kinds of
`server.FaultConfig` decide when (``crafted_uri``, ``hostile_container``,
``repeating_pages``, ``redirect``). The shapes are the real API's, only the values lie.
"""

from __future__ import annotations

import json
from typing import Any

# What `hostile_container` does to the first top container of a search page.
CONTAINER_BREAKS = (
    "not_an_object",  # the doc's ``json`` holds a list where the top container object belongs
    "integer_barcode",  # a number where the barcode string belongs
    "control_character",  # a barcode holding U+000B, which XML cannot carry
    "noncharacter",  # an indicator holding U+FFFE, which XML cannot carry
    "locations_not_a_list",  # container_locations is an object
    "foreign_uri",  # the container's uri points at another host
)
CONTAINER_VARIANTS = (*CONTAINER_BREAKS, "mixed")  # "mixed": one of the breaks, drawn per answer
REPEATED_NUM_FOUND = 10**9


def crafted_repository_uri(body: bytes, uri: str) -> bytes:
    """``GET /repositories`` with the first repository's ``uri`` replaced by ``uri``."""
    repositories = json.loads(body)
    repositories[0]["uri"] = uri
    return _dumps(repositories)


def hostile_container(body: bytes, variant: str) -> bytes:
    """A top-container search page whose first container is broken as ``variant`` says."""
    payload = json.loads(body)
    docs = payload["response"]["docs"]
    if docs:
        container = json.loads(docs[0]["json"])
        docs[0]["json"] = json.dumps(_break_container(container, variant))
    return _dumps(payload)


def _break_container(container: dict[str, Any], variant: str) -> Any:
    if variant == "not_an_object":
        return [container]
    if variant == "integer_barcode":
        return container | {"barcode": 32101000000000 + len(container.get("barcode") or "")}
    if variant == "control_character":
        return container | {"barcode": f"{container.get('barcode') or '32101'}\u000b"}
    if variant == "noncharacter":
        return container | {"indicator": f"{container['indicator']}\ufffe"}
    if variant == "locations_not_a_list":
        return container | {"container_locations": {"ref": "/locations/1"}}
    if variant == "foreign_uri":
        return container | {"uri": f"//attacker.example{container['uri']}"}
    raise ValueError(f"unknown container variant {variant!r}")


def endless_first_page(body: bytes, num_found: int) -> bytes:
    """The first page of a search again, claiming ``num_found`` results: a server paging in a loop."""
    payload = json.loads(body)
    payload["response"]["numFound"] = num_found
    return _dumps(payload)


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
