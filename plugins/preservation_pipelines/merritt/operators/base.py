"""The base of the Merritt operators: the one place their hooks come from.

Shaped like the amazon provider's ``AwsBaseOperator``: connection ids come in as
arguments defaulting to each hook's ``default_conn_name``, hooks go out as cached
properties. Neither hook module imports kazoo or opens a connection when imported.
"""

from __future__ import annotations

from functools import cached_property

from airflow.sdk import BaseOperator

from preservation_pipelines.common.hooks.mail import MailHook
from preservation_pipelines.merritt.hooks.zookeeper import MerrittZooKeeperHook


class MerrittBaseOperator(BaseOperator):
    """A Merritt operator: ``merritt_zk_conn_id`` (ZooKeeper) and ``smtp_conn_id`` (mail)."""

    def __init__(
        self,
        *,
        merritt_zk_conn_id: str = MerrittZooKeeperHook.default_conn_name,
        smtp_conn_id: str = MailHook.default_conn_name,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.merritt_zk_conn_id = merritt_zk_conn_id
        self.smtp_conn_id = smtp_conn_id

    @cached_property
    def zookeeper_hook(self) -> MerrittZooKeeperHook:
        return MerrittZooKeeperHook(merritt_zk_conn_id=self.merritt_zk_conn_id)

    @cached_property
    def mail_hook(self) -> MailHook:
        return MailHook(smtp_conn_id=self.smtp_conn_id)
