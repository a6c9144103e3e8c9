"""The deadline alert of ``aspace2alma``, mailed through the common ``MailHook``.

Recipients: the operator's ``to``, else the Airflow Variable ``aspace2alma_alert_to``
(comma separated); with none, the check fails naming the empty Variable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from include.aspace2alma.schedule import DEADLINE_SCHEDULE
from preservation_pipelines.common.notifiers.failure import recipients_from_variable

if TYPE_CHECKING:
    from preservation_pipelines.common.hooks.mail import MailHook

RECIPIENTS_VARIABLE = "aspace2alma_alert_to"
SUBJECT = f"aspace2alma: export not done by {DEADLINE_SCHEDULE.at} Eastern"


def recipients(to: list[str] | str | None) -> list[str]:
    """The operator's ``to``, else the addresses of the Variable ``aspace2alma_alert_to``."""
    if not to:
        return recipients_from_variable(RECIPIENTS_VARIABLE)
    if isinstance(to, str):
        to = to.split(",")
    return [address.strip() for address in to if address.strip()]


def send_late_alert(mail: MailHook, message: str, to: list[str]) -> list[str]:
    """Mail ``message`` to ``to``; returns the recipients the server refused."""
    return mail.send_plain(recipients=to, subject=SUBJECT, body=message)
