"""The names of postingest's tables, index and topic, the Variables that may set them, and the rules they follow.

Defined once here: the operators, the hooks, the devstack, the tests and the benchmark
import them. The table and topic names are infrastructure, not something a person
triggering a run chooses: they come from Airflow Variables (``*_VARIABLE``), these
defaults applying while a Variable is unset.
"""

from __future__ import annotations

import re

from include.postingest.limits import InvalidParameterError

STATE_TABLE = "dr2-postingest-state"
CHECKPOINT_TABLE = "dr2-postingest-checkpoints"
NOTIFICATIONS_TOPIC = "dr2-notifications"
# the state table's GSI (hash ``queue``, range ``lastQueued``) the resender Queries
STALE_INDEX = "QueueLastQueuedIdx"

STATE_TABLE_VARIABLE = "postingest_state_table"
CHECKPOINT_TABLE_VARIABLE = "postingest_checkpoint_table"
TOPIC_VARIABLE = "postingest_topic"

TABLE_NAME_PATTERN = r"^[A-Za-z0-9_.-]{3,255}$"  # DynamoDB's rule for table names
TOPIC_NAME_PATTERN = r"^[A-Za-z0-9._-]{1,249}$"  # Kafka's rule for topic names


def checked_name(value: object, pattern: str, source: str) -> str:
    """``value`` if it is a name the server accepts; :class:`InvalidParameterError` naming ``source`` and the value if not."""
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise InvalidParameterError(f"{source} {str(value)[:300]!r} is not a valid name (allowed: {pattern})")
    return value
