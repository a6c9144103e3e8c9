"""The one place APTrust operators and notifiers get their hooks: the registry, the work queue, mail.

Each hook is built on first use and kept for the task. The hook modules are imported
there too, not when a DAG file imports an operator: the postgres provider alone takes
~0.5 s to import, more than parsing the whole DAG folder (bench/dagbag_parse). For the
same reason a ``*_conn_id`` left at None means the hook class's ``default_conn_name``,
which is only known once the hook module is imported.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook
    from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook
    from preservation_pipelines.common.hooks.mail import MailHook

# The XCom key under which a task lists the records that need an operator (the run
# summary fails naming them, after the run went on past them).
PROBLEMS_KEY = "problems"


class AptrustHooks:
    """Cached hooks from the ``registry_conn_id``, ``work_queue_conn_id`` and ``smtp_conn_id`` attributes."""

    registry_conn_id: str | None = None
    work_queue_conn_id: str | None = None
    smtp_conn_id: str | None = None

    @cached_property
    def registry(self) -> AptrustRegistryHook:
        """The registry's PostgreSQL database."""
        from preservation_pipelines.aptrust.hooks.registry import AptrustRegistryHook

        return AptrustRegistryHook(self.registry_conn_id or AptrustRegistryHook.default_conn_name)

    @cached_property
    def work_queue(self) -> KafkaTopicProducerHook:
        """The preservation workers' queue: one Kafka topic per WorkItem action."""
        from preservation_pipelines.common.hooks.kafka import KafkaTopicProducerHook

        return KafkaTopicProducerHook(self.work_queue_conn_id or KafkaTopicProducerHook.default_conn_name)

    @cached_property
    def mail(self) -> MailHook:
        """Outgoing mail, refused recipients reported."""
        from preservation_pipelines.common.hooks.mail import MailHook

        return MailHook(self.smtp_conn_id or MailHook.default_conn_name)


class AptrustBaseOperator(AptrustHooks, BaseOperator):
    """Base of the APTrust operators: their hooks are :class:`AptrustHooks`' properties.

    :param registry_conn_id: the registry (default: ``AptrustRegistryHook.default_conn_name``)
    :param work_queue_conn_id: the Kafka producer (default: ``KafkaTopicProducerHook.default_conn_name``)
    :param smtp_conn_id: the SMTP server (default: ``MailHook.default_conn_name``)
    """

    def __init__(
        self,
        *,
        registry_conn_id: str | None = None,
        work_queue_conn_id: str | None = None,
        smtp_conn_id: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.registry_conn_id = registry_conn_id
        self.work_queue_conn_id = work_queue_conn_id
        self.smtp_conn_id = smtp_conn_id

    def report_problems(self, context, problems: list[str]) -> None:
        """Log each record that needs an operator and hand them to the run summary (XCom ``PROBLEMS_KEY``)."""
        if not problems:
            return
        for problem in problems:
            self.log.error("needs an operator: %s", problem)
        context["ti"].xcom_push(key=PROBLEMS_KEY, value=problems)
