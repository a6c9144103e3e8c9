"""Hypothesis strategies for hostile postingest input: DynamoDB's typed JSON, stream records, items.

Values of every DynamoDB type wherever a string is expected, malformed type tags,
strings that are not Unicode, numbers DynamoDB cannot hold, nesting, JSON that is
valid, invalid, non-standard (NaN) or too deep to decode, and keys of any shape.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import strategies as st

from include.postingest.config import parse_queue_config

CONFIG = parse_queue_config(
    json.dumps(
        [
            {"queueAlias": "CC", "queueOrder": 1, "queueUrl": "https://sqs/1/cc"},
            {"queueAlias": "TC", "queueOrder": 2, "queueUrl": "https://sqs/2/tc"},
        ]
    )
)
ATTRIBUTE_NAMES = ("assetId", "batchId", "input", "queue", "result_CC", "result_TC", "correlationId", "lastQueued")

any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates too
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
json_texts = st.one_of(
    json_values.map(json.dumps),
    any_text,
    st.sampled_from(["NaN", '{"x": Infinity}', "9" * 5000, "[" * 3000 + "]" * 3000, "{not json", "", "null"]),
)
number_texts = st.one_of(
    st.integers().map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1" * 50, "1e400", "0x10", ""]),
    any_text,
)


def _typed(tag: str):
    return lambda value: {tag: value}


well_typed_scalars = st.one_of(
    json_texts.map(_typed("S")),
    any_text.map(_typed("S")),
    number_texts.map(_typed("N")),
    st.binary(max_size=8).map(_typed("B")),
    st.booleans().map(_typed("BOOL")),
    st.just({"NULL": True}),
    st.lists(any_text, min_size=1, max_size=3).map(_typed("SS")),
    st.lists(number_texts, min_size=1, max_size=3).map(_typed("NS")),
    st.lists(st.binary(max_size=4), min_size=1, max_size=3).map(_typed("BS")),
)
malformed_values = st.one_of(
    st.dictionaries(
        st.sampled_from(["S", "N", "B", "BOOL", "NULL", "SS", "L", "M", "X", ""]),
        st.none() | st.integers() | st.text(max_size=3) | st.binary(max_size=3) | st.lists(st.integers(), max_size=2),
        max_size=2,
    ),
    st.none() | st.integers() | st.text(max_size=3) | st.lists(st.integers(), max_size=2),
)
typed_values = st.recursive(
    well_typed_scalars | malformed_values,
    lambda children: (
        st.lists(children, max_size=3).map(_typed("L"))
        | st.dictionaries(any_text, children, max_size=3).map(_typed("M"))
    ),
    max_leaves=10,
)
attribute_names = st.sampled_from(ATTRIBUTE_NAMES) | any_text
queue_values = st.sampled_from(["CC", "TC", "XX"]).map(_typed("S"))
images = st.dictionaries(attribute_names, typed_values, max_size=5) | st.fixed_dictionaries(
    {"queue": queue_values},
    optional={name: typed_values for name in ("input", "result_CC", "result_TC", "correlationId")},
)
good_keys = st.fixed_dictionaries(
    {"assetId": st.uuids().map(str).map(_typed("S")), "batchId": st.text(min_size=1, max_size=8).map(_typed("S"))}
)
raw_records = st.fixed_dictionaries(
    {
        "eventID": st.text(max_size=8) | st.integers(),
        "eventName": st.sampled_from(["INSERT", "MODIFY", "REMOVE", "TRUNCATE"]) | st.integers(),
        "dynamodb": st.fixed_dictionaries(
            {
                "SequenceNumber": st.integers(10**20, 10**40 - 1).map(str) | any_text,
                "Keys": good_keys | images,
            },
            optional={"OldImage": images, "NewImage": images},
        ),
    }
)

# items as boto3 gives them (GetItem, Query): plain values of every DynamoDB type
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | json_texts
    | st.integers().map(Decimal)
    | st.binary(max_size=8)
    | st.frozensets(st.text(max_size=4), min_size=1, max_size=3).map(set),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
items = st.fixed_dictionaries(
    {"assetId": st.uuids().map(str), "batchId": st.text(min_size=1, max_size=8), "lastQueued": st.text(max_size=24)},
    optional={name: plain_values for name in ("input", "queue", "result_CC", "result_TC", "correlationId")},
)
