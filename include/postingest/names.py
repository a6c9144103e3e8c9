"""The names postingest's tables, index and topic have unless a DAG run's params say otherwise.

Defined once here: the DAG params, the hooks, the devstack, the tests and the benchmark
import them.
"""

from __future__ import annotations

STATE_TABLE = "dr2-postingest-state"
CHECKPOINT_TABLE = "dr2-postingest-checkpoints"
NOTIFICATIONS_TOPIC = "dr2-notifications"
# the state table's GSI (hash ``queue``, range ``lastQueued``) the resender Queries
STALE_INDEX = "QueueLastQueuedIdx"
