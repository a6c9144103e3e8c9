"""Planning a record's effects: everything built and size-checked before the first write, for any item."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.postingest.effects import Effects, plan_effects
from include.postingest.limits import SizeLimits
from include.postingest.transitions import (
    ALREADY_APPLIED,
    APPLY,
    ITEM_GONE,
    Advance,
    Complete,
    MalformedRecordError,
    QueueFirst,
    StreamRecord,
)
from tests.include.postingest.strategies import CONFIG, items

CC, TC = CONFIG.by_alias("CC"), CONFIG.by_alias("TC")
KEYS = {"assetId": "a-1", "batchId": "b-1"}
ITEM = {**KEYS, "input": '{"p": 1}', "correlationId": "corr-1"}
NOW = "2026-11-23T12:00:00.000Z"
LIMITS = SizeLimits({"CC": 1024, "TC": 1024}, notification_bytes=2000)


def record(new_image=None) -> StreamRecord:
    return StreamRecord("event-1", "INSERT", "100", KEYS, None, new_image)


def plan(transition, current, new_image=None, limits=LIMITS) -> Effects:
    return plan_effects(record(new_image), transition, current, CONFIG, now=NOW, limits=limits)


def test_a_new_asset_gets_its_message_update_and_notification_planned():
    effects = plan(QueueFirst(CC), ITEM)

    assert (effects.status, effects.queue) == (APPLY, CC)
    assert json.loads(effects.message)["payload"] == {"p": 1}
    assert effects.write.assigned == {"queue": "CC", "firstQueued": NOW, "lastQueued": NOW}
    assert json.loads(effects.notification)["properties"]["parentMessageId"] == "corr-1"


def test_a_replay_plans_only_the_notification_and_a_gone_item_nothing():
    assert plan(QueueFirst(CC), {**ITEM, "queue": "CC"}) == Effects(
        ALREADY_APPLIED, plan(QueueFirst(CC), ITEM).notification
    )
    assert plan(QueueFirst(CC), None) == Effects(ITEM_GONE)
    assert plan(Complete(TC), {**ITEM, "queue": "TC"}).write.condition_expression == "#queue = :finished"
    gone_advance = plan(Advance(CC, TC), None, new_image={**ITEM, "correlationId": "from-the-record"})
    assert gone_advance.status == ITEM_GONE and "from-the-record" in gone_advance.notification


@pytest.mark.parametrize(
    "transition, current, reason",
    [
        (QueueFirst(CC), {**ITEM, "correlationId": Decimal(5)}, "correlationId is a number, not a string"),
        (QueueFirst(CC), {**ITEM, "queue": "CC", "correlationId": {"x"}}, "correlationId is a set"),
        (
            QueueFirst(CC),
            {**ITEM, "input": json.dumps({"blob": "x" * 1000})},
            "message for queue CC has 1092 bytes, over the 1024",
        ),
        (QueueFirst(CC), {**ITEM, "correlationId": "c" * 2000}, "notification has 2348 bytes, over the 2000"),
        (QueueFirst(CC), {**ITEM, "pad": "x" * 399_900}, "the item would have 400031 bytes after the update"),
        (Advance(CC, TC), {**ITEM, "queue": "CC", "result_CC": {"m": "ap"}}, "result_CC is a map, not a string"),
    ],
)
def test_a_record_that_cannot_be_encoded_or_would_be_refused_fails_before_any_effect(transition, current, reason):
    with pytest.raises(MalformedRecordError, match=reason):
        plan(transition, current)


@given(items, st.sampled_from([QueueFirst(CC), Advance(CC, TC), Complete(TC)]), st.booleans())
def test_any_item_gives_a_whole_plan_within_the_limits_or_the_records_own_error(current, transition, exists):
    current = {**current, "queue": "CC" if isinstance(transition, Advance) else current.get("queue")}
    try:
        effects = plan(transition, current if exists else None, new_image=current)
    except MalformedRecordError as error:
        assert "asset " in str(error)
        return
    if effects.notification is not None:
        assert len(effects.notification) + len("a-1") + 36 <= LIMITS.notification_bytes
        json.loads(effects.notification)
    if effects.message is not None:
        assert effects.status == APPLY and len(effects.message) <= LIMITS.message_limit(effects.queue.alias)
        assert json.loads(effects.message)["resultAttrName"] == effects.queue.result_attribute
