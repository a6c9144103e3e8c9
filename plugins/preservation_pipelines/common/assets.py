"""Every dataset the DAGs write or read, as Airflow Assets with stable URIs, in one place.

Declared as task ``outlets`` (a successful task records an asset event) and ``inlets``,
so the UI's Assets view draws the lineage inside and between the systems. The URIs are
logical: each names the Airflow connection id where a URI wants a host, never an
address, so they are the same in every deployment. Their schemes carry Airflow's ``x-``
prefix for schemes it should not interpret: for any other scheme Airflow looks up a
normaliser among every installed provider's asset handlers while the DAG file is parsed,
which imports the amazon provider with boto3 and urllib3 into each parse
(tests/dags/test_aspace2alma_parse.py keeps parses free of them). Schedules stay
time-based (docs/architecture.md says why).
"""

from __future__ import annotations

from airflow.sdk import Asset

from include.aptrust.work_items import DELETE, GLACIER_RESTORE, RESTORE_FILE, RESTORE_OBJECT, TOPIC_BY_ACTION
from include.aspace2alma.dropbox import DROPBOX_FOLDER, OUTPUT_NAME, REPORT_NAME
from include.postingest.names import NOTIFICATIONS_TOPIC, STATE_TABLE

ALMA_DROPBOX = f"x-sftp://lib_sftp{DROPBOX_FOLDER}"  # the folder Variable's default

MARC_EXPORT = Asset(name="aspace2alma MARC export", uri=f"{ALMA_DROPBOX}/{OUTPUT_NAME}", group="aspace2alma")
BARCODE_REPORT = Asset(name="Alma barcode report", uri=f"{ALMA_DROPBOX}/{REPORT_NAME}", group="aspace2alma")

POSTINGEST_STATE = Asset(
    name="postingest state table", uri=f"x-dynamodb://aws_default/{STATE_TABLE}", group="postingest"
)
POSTINGEST_NOTIFICATIONS = Asset(
    name="postingest notifications", uri=f"x-kafka://kafka_producer/{NOTIFICATIONS_TOPIC}", group="postingest"
)

REGISTRY_WORK_ITEMS = Asset(
    name="APTrust registry work items", uri="x-postgres://aptrust_registry/public/work_items", group="aptrust"
)
REGISTRY_ALERTS = Asset(
    name="APTrust registry alerts", uri="x-postgres://aptrust_registry/public/alerts", group="aptrust"
)
APTRUST_TOPICS = {
    action: Asset(name=f"APTrust {topic} queue", uri=f"x-kafka://kafka_producer/{topic}", group="aptrust")
    for action, topic in TOPIC_BY_ACTION.items()
}

RESTORE_QUEUES = [APTRUST_TOPICS[RESTORE_OBJECT], APTRUST_TOPICS[RESTORE_FILE], APTRUST_TOPICS[GLACIER_RESTORE]]
DELETION_QUEUE = APTRUST_TOPICS[DELETE]

MERRITT_QUEUE = Asset(name="Merritt ingest queue", uri="x-zookeeper://merritt_zk/batches", group="merritt")
# The 14 legacy Pharos tables, wherever the schema setting points (Variable aptrust_legacy_schema).
LEGACY_PHAROS_TABLES = Asset(
    name="APTrust legacy Pharos tables", uri="x-postgres://aptrust_registry/legacy/pharos_tables", group="aptrust"
)
LEGACY_PHAROS_RECORDS = Asset(
    name="APTrust legacy Pharos records",
    uri="x-postgres://aptrust_registry/public/legacy_pharos_records",
    group="aptrust",
)
