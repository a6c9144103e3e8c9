"""The 10:30 Eastern deadline alert of ``aspace2alma``, mailed through ``smtp_default``.

Recipients: the operator's ``to``, else the Airflow Variable ``aspace2alma_alert_to``
(comma separated); with none, the alert is only logged (as an error).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
RECIPIENTS_VARIABLE = "aspace2alma_alert_to"


def recipients(to: list[str] | str | None) -> list[str]:
    if not to:
        from airflow.sdk import Variable

        to = Variable.get(RECIPIENTS_VARIABLE, default=None) or ""
    if isinstance(to, str):
        to = to.split(",")
    return [address.strip() for address in to if address.strip()]


def send_late_alert(message: str, to: list[str], smtp_conn_id: str = "smtp_default") -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=smtp_conn_id) as smtp:
        smtp.send_email_smtp(
            to=to, subject="aspace2alma: export not done by 10:30 Eastern", html_content=f"<p>{message}</p>"
        )
