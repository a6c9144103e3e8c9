"""Where APTrust operators and the deletion-request notifier get their hooks: built once, connections defaulted."""

from __future__ import annotations


def test_hooks_default_to_each_hook_class_connection_and_are_built_once():
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook
    from preservation_pipelines.aptrust.operators.mail import RecordRestoreDigestsOperator
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook
    from preservation_pipelines.common.hooks.mail import MailHook

    operator = RecordRestoreDigestsOperator(task_id="record")

    assert operator.registry.postgres_conn_id == AptrustRegistryHook.default_conn_name
    assert operator.work_queue.kafka_config_id == KafkaTopicProducerHook.default_conn_name
    assert operator.mail.smtp_conn_id == MailHook.default_conn_name
    assert operator.registry is operator.registry and operator.work_queue is operator.work_queue


def test_connection_ids_given_to_an_operator_or_the_notifier_are_used():
    from preservation_pipelines.aptrust.notifiers.deletion_request import DeletionRequestNotifier
    from preservation_pipelines.aptrust.operators.approval import DeletionApprovalOperator
    from preservation_pipelines.aptrust.operators.work_items import QueueWorkItemsOperator

    operator = QueueWorkItemsOperator(
        task_id="queue",
        work_item_ids=[1],
        registry_conn_id="other_registry",
        work_queue_conn_id="other_producer",
        smtp_conn_id="other_smtp",
    )
    notifier = DeletionRequestNotifier(
        institution="test.edu",
        requester="ann@test.edu",
        identifiers=[],
        registry_conn_id="other_registry",
        smtp_conn_id="other_smtp",
    )

    approval = DeletionApprovalOperator(
        task_id="approve",
        institution="test.edu",
        requester="ann@test.edu",
        identifiers=[],
        subject="?",
        registry_conn_id="other_registry",
    )

    for hooks in (operator, notifier):
        assert (hooks.registry.postgres_conn_id, hooks.mail.smtp_conn_id) == ("other_registry", "other_smtp")
    assert operator.work_queue.kafka_config_id == "other_producer"
    assert approval.registry.postgres_conn_id == "other_registry"  # the approval maps users in the registry
