"""Item fields: which top containers get a 949, in what order, with what subfields."""

from __future__ import annotations

import json

from include.aspace2alma.aspace_data import top_container
from include.aspace2alma.items import item_fields, needs_item
from tests.include.aspace2alma.marc_builders import M


def container(barcode="32101106176132", indicator="2477", codes=("scarcpph",), type_="volume"):
    """A top container as the search answers it, checked as the hook checks it."""
    tc = {"uri": "/repositories/3/top_containers/28023", "indicator": indicator, "type": type_}
    if barcode is not None:
        tc["barcode"] = barcode
    tc["container_locations"] = [
        {"ref": f"/locations/{n}", "_resolved": {"classification": c}} for n, c in enumerate(codes)
    ]
    return top_container({"json": json.dumps(tc)}, "GET /repositories/3/top_containers/search")


def subfields(field):
    return [(sub.get("code"), sub.text) for sub in field.iterchildren(f"{M}subfield")]


def test_the_spec_example():
    [field] = item_fields([container()], "MC001.01", frozenset())
    assert field.get("tag") == "949" and (field.get("ind1"), field.get("ind2")) == (" ", " ")
    assert subfields(field) == [
        ("a", "32101106176132"),
        ("b", "volume 2477"),
        ("c", "scarcpph"),
        ("d", "(PULFA)MC001.01"),
    ]


def test_qualification():
    report = frozenset({"in-report"})
    assert needs_item(container(codes=("rcpxg",)), report)
    assert not needs_item(container(barcode=None), report)
    assert not needs_item(container(barcode="  "), report)
    assert not needs_item(container(barcode="in-report"), report)
    assert not needs_item(container(codes=()), report)  # no location: skipped, not an error
    assert not needs_item(container(codes=("scamss",)), report)
    assert not needs_item(container(codes=("scamss", "scarcpph")), report)  # only the first location counts
    assert needs_item(container(codes=("scarcppf", "scamss")), report)
    assert not needs_item(container(codes=("mss-rcpxg",)), report)


def test_ordered_by_first_integer_of_the_indicator():
    containers = [container(barcode=str(n), indicator=ind) for n, ind in enumerate(["12a", "B-3", "100", "OS-7", "x"])]
    fields = item_fields(containers, "C1", frozenset())
    assert [subfields(f)[1][1] for f in fields] == ["volume B-3", "volume OS-7", "volume 12a", "volume 100", "volume x"]
