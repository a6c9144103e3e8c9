"""Hypothesis strategies for what ArchivesSpace could send: MARC exports and top-container search docs.

Mostly the real shapes with hostile values (any Unicode, control characters, lone
surrogates, noncharacters, wrong JSON types), so the properties reach the code past
the first check, plus plain garbage.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from include.aspace2alma.marc import MARC_NS

ANY_TEXT = st.text(max_size=12)  # every code point, surrogates and controls included
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT
LOCATION_CODES = st.sampled_from(["scarcpph", "rcpxg", "scamss", "mss-rcpxg", ""]) | ANY_TEXT
_PRINTABLE = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")), min_size=1, max_size=12)
_TEXT = st.sampled_from(["C0100", "MC001.01", " A -- B -- 19th century ", "viaf", "Location of resource: scamss."])


def _mostly(likely, rarely):
    """``likely`` nine times in ten, so most examples get past the first check. Hypothesis has no
    weights and favours small numbers: the likely branch is the small end."""
    return st.integers(0, 9).flatmap(lambda n: likely if n < 9 else rarely)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


JUNK = st.sampled_from([
    "<!-- a comment -->", "<?pi data?>", "<![CDATA[x<y]]>", "&amp;", "&#11;", "&#xFFFE;", "&lol;",
    "<!DOCTYPE r>", "<record/>", "<other xmlns='urn:x'>t</other>", "</record>", "\u000b", "",
])  # fmt: skip
_TAGS = ["040", "245", "520", "600", "650", "700", "852", "500", "351", "856", "949"]
_CLEAN = {
    "text": (_TEXT | _PRINTABLE).map(_escaped),
    "code": st.sampled_from(list("abcdegquxyz0129")),
    "tag": st.sampled_from(_TAGS),
    "ind": st.sampled_from([" ", "7", "0"]),
}
_HOSTILE = {
    "text": (_TEXT | ANY_TEXT).map(_escaped),
    "code": st.sampled_from(list("au")) | ANY_TEXT.map(_escaped),
    "tag": st.sampled_from(_TAGS) | ANY_TEXT.map(_escaped),
    "ind": st.sampled_from([" ", "7"]) | ANY_TEXT.map(_escaped),
}
_NAMESPACED = [f'<collection xmlns="{MARC_NS}">{{}}</collection>', f'<record xmlns="{MARC_NS}">{{}}</record>']


def _datafield(draw, values, tag, required=0) -> str:
    subfields = draw(st.lists(st.tuples(values["code"], values["text"]), min_size=required, max_size=3))
    body = "".join(f'<subfield code="{code}">{text}</subfield>' for code, text in subfields)
    return f'<datafield tag="{tag}" ind1=" " ind2="{draw(values["ind"])}">{body}</datafield>'


@st.composite
def marc_exports(draw) -> bytes:
    """An ASpace MARC export: three in four clean (the rules run on them), the others hostile anywhere."""
    hostile = draw(st.integers(0, 3)) == 3  # Hypothesis favours small numbers: clean is the small end
    values = _HOSTILE if hostile else _CLEAN
    fields = ["<leader>00000npcaa2200000 u 4500</leader>"]
    if draw(st.integers(0, 9)) < 9:
        fields.append(f'<controlfield tag="008">{draw(values["text"])}</controlfield>')
    for tag, code in (("041", "a"), ("099", "a"), ("856", "u")):
        if draw(st.integers(0, 9)) < 9:
            fields.append(_datafield(draw, values | {"code": st.just(code)}, tag, required=1))
    fields += [_datafield(draw, values, draw(values["tag"])) for _ in range(draw(st.integers(0, 4)))]
    if hostile:
        for _ in range(draw(st.integers(0, 2))):
            fields.insert(draw(st.integers(0, len(fields))), draw(JUNK))
    wrapper = draw(st.sampled_from(_NAMESPACED + (["{}"] if hostile else [])))
    record = "".join(fields)
    document = wrapper.format(record if wrapper.startswith("<record") else f"<record>{record}</record>")
    if draw(st.booleans()):
        document = '<?xml version="1.0" encoding="UTF-8"?>\n' + document
    data = document.encode("utf-8", "surrogatepass")
    if not hostile:
        return data
    return draw(st.sampled_from([data, data[: len(data) // 2]]) | st.binary(max_size=40))


_VALID_CONTAINERS = st.fixed_dictionaries({
    "uri": st.integers(1, 10**6).map(lambda n: f"/repositories/2/top_containers/{n}"),
    "barcode": st.integers(10**13, 10**13 + 50).map(str),
    "indicator": st.sampled_from(["12a", "B-3", "x", "2477", "OS 7"]),
    "type": st.sampled_from(["box", "volume"]),
    "container_locations": st.lists(
        st.fixed_dictionaries({"_resolved": st.fixed_dictionaries({"classification": LOCATION_CODES})}),
        min_size=1,
        max_size=2,
    ),
})  # fmt: skip
_LOCATION = st.none() | JSON_SCALARS | st.fixed_dictionaries(
    {}, optional={"_resolved": st.none() | JSON_SCALARS | st.fixed_dictionaries({}, optional={"classification": LOCATION_CODES | JSON_SCALARS})}
)  # fmt: skip
_HOSTILE_CONTAINERS = st.fixed_dictionaries(
    {
        "uri": st.sampled_from(
            ["//attacker.example/repositories/2/top_containers/1", "/repositories/2/top_containers/9"]
        )
        | JSON_SCALARS
    },  # fmt: skip
    optional={
        "barcode": JSON_SCALARS,
        "indicator": JSON_SCALARS,
        "type": JSON_SCALARS,
        "container_locations": st.lists(_LOCATION, max_size=2) | JSON_SCALARS,
    },
)
SEARCH_DOCS = _mostly(
    _VALID_CONTAINERS.map(lambda container: {"json": json.dumps(container)}),
    _HOSTILE_CONTAINERS.map(lambda container: {"json": json.dumps(container)})
    | st.one_of(JSON_SCALARS, st.fixed_dictionaries({"json": ANY_TEXT}), st.lists(JSON_SCALARS, max_size=2)),
)
