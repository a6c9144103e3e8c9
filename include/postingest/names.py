"""The names postingest's tables, index and topic have unless a DAG run's params say otherwise.

Defined once here, with the rules the servers hold names to: the DAG params, the hooks,
the devstack, the tests and the benchmark import them.
"""

from __future__ import annotations

import re

from include.postingest.limits import InvalidParameterError

STATE_TABLE = "dr2-postingest-state"
CHECKPOINT_TABLE = "dr2-postingest-checkpoints"
NOTIFICATIONS_TOPIC = "dr2-notifications"
# the state table's GSI (hash ``queue``, range ``lastQueued``) the resender Queries
STALE_INDEX = "QueueLastQueuedIdx"

# JSON-schema patterns (the params form) and the code's check alike
TABLE_NAME_PATTERN = r"^[A-Za-z0-9_.-]{3,255}$"  # DynamoDB's rule for table names
TOPIC_NAME_PATTERN = r"^[A-Za-z0-9._-]{1,249}$"  # Kafka's rule for topic names


def checked_name(value: object, pattern: str, parameter: str) -> str:
    """``value`` if it is a name the server accepts; :class:`InvalidParameterError` naming ``parameter`` if not."""
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise InvalidParameterError(f"{parameter} {str(value)[:300]!r} is not a valid name (allowed: {pattern})")
    return value
