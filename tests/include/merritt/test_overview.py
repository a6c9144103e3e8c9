"""What the Pipelines view makes of Merritt's queue: batch counts per state and the actions a failed job allows."""

from __future__ import annotations

from include.merritt.layout import CorruptNodeError
from include.merritt.overview import BEING_STAGED, UNREADABLE, admin_conf, batch_state_counts, failed_job_actions


def test_batch_counts_name_batches_being_staged_and_unreadable_ones():
    statuses = {
        "bid1": {"status": "Processing"},
        "bid2": {"status": "Processing"},
        "bid3": {"status": "Failed"},
        "bid4": None,
        "bid5": CorruptNodeError("/batches/bid5/status: not valid JSON"),
        "bid6": {"status": 7},
    }

    assert batch_state_counts(statuses) == {BEING_STAGED: 1, UNREADABLE: 2, "Failed": 1, "Processing": 2}


def test_a_failed_job_is_offered_requeue_only_where_merritts_admin_tool_would():
    assert failed_job_actions({"last_successful_status": None}) == ["requeue_job", "delete_job"]
    assert failed_job_actions({"last_successful_status": "Downloading"}) == ["requeue_job", "delete_job"]
    assert failed_job_actions({"last_successful_status": "Notify"}) == ["delete_job"]
    assert failed_job_actions({"last_successful_status": "Failed"}) == ["delete_job"]


def test_admin_conf_is_the_dags_params():
    assert admin_conf("requeue_job", "jid0000000003") == {"action": "requeue_job", "target": "jid0000000003"}
    assert admin_conf("thaw_queue") == {"action": "thaw_queue"}
