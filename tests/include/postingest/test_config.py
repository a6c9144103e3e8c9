import json

import pytest

from include.postingest.config import QueueConfigError, parse_queue_config

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
    ],
)
def test_every_config_error_names_its_problem(text, message):
    with pytest.raises(QueueConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_queue_config(text)
