"""postingest demo: the state table, confirmer queues and topic, with work waiting.

- The default names (``include.postingest.names``; queues ``dr2-custodial-copy-confirmer``
  and ``dr2-tape-confirmer``) so the DAGs run with their name Variables unset under
  `make run`; the state-change task creates its checkpoint table itself.
- Freshly ingested assets, for ``postingest_state_change`` to queue and announce.
- Rows that have waited on CC for longer than the queue's retention, for
  ``postingest_resender`` to resend. In production their INSERTs left the stream long
  ago; here the state change reads them too and finds them already queued (counted as
  ``replayed``, announced again with their stable messageIds).
The queue config (Variable ``postingest_queues``) comes from ``airflow_settings.yaml``;
moto accepts its AWS-style queue URLs on the local endpoint.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from devstack import postingest_provisioning as provisioning
from devstack.stack import Devstack
from include.postingest.names import STATE_TABLE

DEMO_ASSETS = 3
STUCK_ASSETS = 2
QUEUES = {"CC": "dr2-custodial-copy-confirmer", "TC": "dr2-tape-confirmer"}


def _clients(stack: Devstack):
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    endpoint = stack["moto"].endpoint_url
    return session.resource("dynamodb", endpoint_url=endpoint), session.client("sqs", endpoint_url=endpoint)


def _asset(**attributes: Any) -> dict[str, Any]:
    return {
        "assetId": str(uuid.uuid4()),
        "batchId": f"TDR_{uuid.uuid4()}",
        "input": json.dumps({"preservationSystemId": str(uuid.uuid4())}),
        "correlationId": str(uuid.uuid4()),
        **attributes,
    }


def seed(stack: Devstack) -> dict[str, dict[str, Any]]:
    from confluent_kafka.admin import AdminClient

    dynamodb, sqs = _clients(stack)
    provisioning.create_state_table(dynamodb.meta.client)
    provisioning.create_confirmer_queues(sqs, QUEUES)
    provisioning.create_topic(AdminClient({"bootstrap.servers": stack["kafka"].bootstrap_servers}))

    with dynamodb.Table(STATE_TABLE).batch_writer() as writer:
        for _ in range(DEMO_ASSETS):
            writer.put_item(Item=_asset())
        for day in range(1, STUCK_ASSETS + 1):
            queued = f"2025-06-0{day}T10:00:00.000Z"
            writer.put_item(Item=_asset(queue="CC", firstQueued=queued, lastQueued=queued))
    return {}
