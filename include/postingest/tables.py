"""Creating a DynamoDB table idempotently, from a plain boto3 client.

The state-change task creates its checkpoint table this way when it is missing; the
devstack creates the state table the same way.
"""

from __future__ import annotations

import time
from typing import Any


def create_table_if_missing(dynamodb_client, definition: dict[str, Any]) -> str:
    """CreateTable with ``definition`` unless the table exists, then wait until it is ACTIVE.

    Asks DescribeTable first, since CreateTable is rate-limited; a concurrent creation
    (ResourceInUseException) counts as created. Returns the table's name.
    """
    name = definition["TableName"]
    try:
        dynamodb_client.describe_table(TableName=name)
        return name
    except dynamodb_client.exceptions.ResourceNotFoundException:
        pass
    try:
        dynamodb_client.create_table(**definition)
    except dynamodb_client.exceptions.ResourceInUseException:
        pass
    for _ in range(120):
        if dynamodb_client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE":
            return name
        time.sleep(0.5)
    raise TimeoutError(f"table {name} did not become ACTIVE")
