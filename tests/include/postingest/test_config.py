"""The queue configuration: every accepted config keeps its invariants, every refusal names its problem."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.postingest.config import STATUS_TEXTS, QueueConfigError, parse_queue_config

CC = {"queueAlias": "CC", "queueOrder": 1, "queueUrl": "https://sqs/1/cc"}
TC = {"queueAlias": "TC", "queueOrder": 2, "queueUrl": "https://sqs/2/tc"}


def test_queues_come_back_in_order_with_their_neighbours():
    config = parse_queue_config(json.dumps([TC, CC]))

    assert [queue.alias for queue in config] == ["CC", "TC"]
    assert config.first.alias == "CC"
    assert config.next_after(config.first).alias == "TC"
    assert config.previous(config.by_alias("TC")).alias == "CC"
    assert config.previous(config.first) is None
    assert config.is_last(config.by_alias("TC")) and not config.is_last(config.first)
    assert config.by_alias("TC").status_text == "Asset has been written to tape."
    assert config.first.status_text == "Asset has been written to custodial copy disk."


def test_scout_is_accepted_for_the_tape_step():
    scout = {"queueAlias": "Scout", "queueOrder": 2, "queueUrl": "https://sqs/2/scout"}

    config = parse_queue_config(json.dumps([CC, scout]))

    assert config.by_alias("Scout").status_text == "Asset has been written to tape."
    assert config.by_alias("Scout").result_attribute == "result_Scout"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[{not json", "not decodable JSON"),
        (None, "not decodable JSON"),
        ('{"queueAlias": "CC"}', "must be a JSON list"),
        ("[]", "queue config is empty"),
        (json.dumps([{**CC, "queueOrder": 2}]), "no queue with queueOrder 1"),
        (json.dumps([CC, {**TC, "queueOrder": 1}]), "2 queues with queueOrder 1: CC, TC"),
        (json.dumps([CC, {**TC, "queueOrder": 3}]), "orders must run 1..2 without gaps, got 1, 3"),
        (json.dumps([CC, {**TC, "queueAlias": "CC"}]), "same queueAlias twice: CC"),
        (json.dumps([CC, {**TC, "queueUrl": CC["queueUrl"]}]), "same queueUrl twice: https://sqs/1/cc"),
        (json.dumps([CC, {**TC, "queueAlias": "XX"}]), "alias 'XX' has no known status text (known: CC, Scout, TC)"),
        (json.dumps([CC, {"queueAlias": "TC", "queueOrder": 2}]), "entry 1 lacks queueUrl"),
        (json.dumps([{**CC, "queueOrder": "1"}]), "queueOrder must be an integer"),
        (json.dumps([{**CC, "queueAlias": ""}]), "queueAlias must be a non-empty string"),
        (json.dumps(["CC"]), "entry 0 is not an object"),
        (json.dumps([{**CC, "queueUrl": "sqs/1/cc"}]), "queueUrl must be an http(s) URL"),
        (json.dumps([{**CC, "queueUrl": "file:///etc/passwd"}]), "queueUrl must be an http(s) URL"),
        (json.dumps([{**CC, "queueUrl": "https://sqs/1/cc\nHost: evil"}]), "queueUrl must be an http(s) URL"),
        (json.dumps([{**CC, "queueUrl": "https://[::1/cc"}]), "queueUrl must be an http(s) URL"),
        ("[" * 100_000, "not decodable JSON"),
        ("[" + "9" * 5000 + "]", "not decodable JSON"),
    ],
)
def test_every_config_error_names_its_problem(text, message):
    with pytest.raises(QueueConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_queue_config(text)


entries = st.fixed_dictionaries(
    {
        "queueAlias": st.sampled_from(sorted(STATUS_TEXTS)) | st.text(max_size=4) | st.integers(),
        "queueOrder": st.integers(-1, 4) | st.booleans() | st.floats() | st.text(max_size=2),
        "queueUrl": st.sampled_from(["https://sqs/1/cc", "https://sqs/2/tc", "http://127.0.0.1:1/q", "nope"])
        | st.text(max_size=12),
    },
    optional={"extra": st.integers()},
)
json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)


@given(
    st.one_of(
        st.lists(entries | json_documents, max_size=4).map(json.dumps),
        json_documents.map(json.dumps),
        st.text(max_size=30),
        st.none(),
    )
)
def test_any_text_is_a_valid_queue_config_or_a_queue_config_error(text):
    try:
        config = parse_queue_config(text)
    except QueueConfigError as error:
        assert str(error).startswith("queue config ")
        return
    queues = list(config)
    assert [queue.order for queue in queues] == list(range(1, len(queues) + 1))
    assert len({queue.alias for queue in queues}) == len({queue.url for queue in queues}) == len(queues)
    assert all(queue.alias in STATUS_TEXTS and queue.url.startswith(("http://", "https://")) for queue in queues)
    assert config.first.order == 1 and config.is_last(queues[-1])
