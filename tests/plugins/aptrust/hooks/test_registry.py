"""The registry hook on the real PostgreSQL: spot-test eligibility and the one-per-month rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from tests.include.aptrust.fixtures import registry, rows  # noqa: F401 - fixture

NOW = datetime.now(UTC)


@pytest.fixture
def hook(registry):  # noqa: F811
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

    return AptrustRegistryHook()


def test_eligibility_rules_on_real_rows(registry, hook):  # noqa: F811
    inst = registry.institution("rules.edu")
    eligible = registry.intellectual_object(inst, "rules.edu/eligible", file_sizes=(100, 200))
    null_sizes = registry.intellectual_object(inst, "rules.edu/null-sizes", file_sizes=(None, None))
    no_files = registry.intellectual_object(inst, "rules.edu/no-files", file_sizes=())
    never_ingested = registry.intellectual_object(inst, "rules.edu/never-ingested", ingested=False)
    deleted = registry.intellectual_object(inst, "rules.edu/deleted", state="D")
    recently_restored = registry.intellectual_object(inst, "rules.edu/recent")
    registry.work_item(inst, recently_restored, "Glacier Restore", "Success", date_processed=NOW - timedelta(days=30))
    restored_long_ago = registry.intellectual_object(inst, "rules.edu/long-ago")
    registry.work_item(inst, restored_long_ago, "Restore Object", "Success", date_processed=NOW - timedelta(days=400))
    pending_on_file = registry.intellectual_object(inst, "rules.edu/pending-file", file_sizes=())
    file_id = registry.generic_file(pending_on_file, inst, "rules.edu/pending-file/data/x", 10)
    registry.work_item(inst, None, "Restore File", "Started", generic_file_id=file_id)
    pending_delete = registry.intellectual_object(inst, "rules.edu/pending-delete")
    registry.work_item(inst, pending_delete, "Delete", "Pending")
    partly_deleted_files = registry.intellectual_object(inst, "rules.edu/partly", file_sizes=(5,))
    registry.generic_file(partly_deleted_files, inst, "rules.edu/partly/data/gone", 1000, state="D")

    ids = hook.active_object_ids(inst)
    assert deleted not in ids
    sizes = hook.eligible_sizes(ids, restored_since=NOW - timedelta(days=183))
    assert sizes == {eligible: 300, restored_long_ago: 1024, partly_deleted_files: 5}
    assert {null_sizes, no_files, never_ingested, recently_restored, pending_on_file, pending_delete}.isdisjoint(sizes)


def test_spot_test_work_item_copies_the_last_ingest_and_picks_the_action(registry, hook):  # noqa: F811
    inst = registry.institution("glacier.edu")
    obj = registry.intellectual_object(inst, "glacier.edu/deep", storage_option="Glacier-Deep-VA", file_sizes=(7, 8))
    registry.work_item(inst, obj, "Ingest", "Success", name="deep-v2.tar", date_processed=NOW - timedelta(days=3))

    work_item_id, created = hook.create_spot_test(
        institution_id=inst, month=date(2026, 12, 1), object_id=obj, dag_run_id="r1"
    )

    assert created
    [item] = rows(registry, "SELECT * FROM work_items WHERE id = %(id)s", {"id": work_item_id})
    assert (item["action"], item["stage"], item["status"], item["retry"]) == (
        "Glacier Restore",
        "Requested",
        "Pending",
        True,
    )
    assert (item["user"], item["note"]) == ("system@aptrust.org", "Automated object restoration spot test")
    assert (item["name"], item["etag"], item["size"], item["queued_at"]) == (
        "deep-v2.tar",
        "etag-deep-v2.tar",
        15,
        None,
    )
    [institution] = rows(
        registry, "SELECT last_spot_restore_work_item_id FROM institutions WHERE id = %(id)s", {"id": inst}
    )
    assert institution["last_spot_restore_work_item_id"] == work_item_id


def test_the_database_allows_one_spot_test_per_institution_and_month(registry, hook):  # noqa: F811
    inst = registry.institution("once.edu")
    first_object = registry.intellectual_object(inst, "once.edu/a")
    second_object = registry.intellectual_object(inst, "once.edu/b")
    month = date(2026, 12, 1)

    first, created = hook.create_spot_test(institution_id=inst, month=month, object_id=first_object, dag_run_id="r1")
    again, created_again = hook.create_spot_test(
        institution_id=inst, month=month, object_id=second_object, dag_run_id="r2"
    )

    assert created and not created_again and again == first
    assert rows(registry, "SELECT count(*) AS n FROM work_items WHERE action <> 'Ingest'")[0]["n"] == 1
    other = registry.work_item(inst, second_object, "Restore Object", "Pending")
    with pytest.raises(psycopg.errors.UniqueViolation):  # not only the code: the table refuses it
        registry.connection.execute(
            "INSERT INTO spot_test_restores (institution_id, month, work_item_id, dag_run_id) VALUES (%s, %s, %s, 'x')",
            (inst, month, other),
        )


def test_active_users_are_found_by_address_case_insensitively(registry, hook):  # noqa: F811
    from include.aptrust.deletion import RegistryUser

    inst = registry.institution("people.edu")
    ann = registry.user(inst, "Ann@People.edu", role="institutional_user")
    registry.user(inst, "gone@people.edu", active=False)

    assert hook.active_users("ann@people.edu") == [RegistryUser(ann, "Ann@People.edu", inst)]
    assert hook.active_users("gone@people.edu") == []
    assert hook.active_users("ann@people.edu' OR '1'='1") == []  # a value, never SQL
