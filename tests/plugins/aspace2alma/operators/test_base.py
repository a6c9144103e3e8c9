"""Where aspace2alma operators and the report sensor get their hooks: built once, connections defaulted."""

from __future__ import annotations


def test_hooks_default_to_each_hook_class_connection_and_are_built_once():
    from preservation_pipelines.aspace2alma.hooks.archivesspace import ArchivesSpaceHook
    from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook
    from preservation_pipelines.aspace2alma.operators.schedule import ExportDeadlineCheckOperator
    from preservation_pipelines.common.hooks.mail import MailHook

    operator = ExportDeadlineCheckOperator(task_id="check", dag_id_to_check="aspace2alma", at="05:30")

    assert operator.dropbox_hook.sftp_conn_id == SFTPDropBoxHook.default_conn_name
    assert operator.aspace_hook.aspace_conn_id == ArchivesSpaceHook.default_conn_name
    assert operator.mail_hook.smtp_conn_id == MailHook.default_conn_name
    assert operator.dropbox_hook is operator.dropbox_hook and operator.aspace_hook is operator.aspace_hook
    assert operator.mail_hook is operator.mail_hook


def test_connection_ids_given_to_an_operator_or_the_sensor_are_used():
    from preservation_pipelines.aspace2alma.operators.dropbox import SFTPRotateOperator
    from preservation_pipelines.aspace2alma.sensors.sftp import SFTPFreshFileSensor

    operator = SFTPRotateOperator(
        task_id="rotate", folder="/f", current="a", previous="b",
        sftp_conn_id="other_sftp", aspace_conn_id="other_aspace", smtp_conn_id="other_smtp",
    )  # fmt: skip
    sensor = SFTPFreshFileSensor(task_id="wait", folder="/f", names=["a"], sftp_conn_id="other_sftp")

    assert operator.dropbox_hook.sftp_conn_id == sensor.dropbox_hook.sftp_conn_id == "other_sftp"
    assert (operator.aspace_hook.aspace_conn_id, operator.mail_hook.smtp_conn_id) == ("other_aspace", "other_smtp")


def test_the_export_sizes_the_archivesspace_connection_pool_to_its_concurrency():
    from preservation_pipelines.aspace2alma.operators.export import ArchivesSpaceToAlmaOperator

    operator = ArchivesSpaceToAlmaOperator(task_id="export", folder="/f", concurrency="12")

    assert operator.aspace_hook.max_connections == 12
