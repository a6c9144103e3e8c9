"""The one place aspace2alma operators and sensors get their hooks from.

Shaped like the amazon provider's ``AwsBaseOperator``: each connection id defaults to
its hook's ``default_conn_name``, and each hook is built once per task instance, on
first use, so parsing a DAG file builds none. Run params and the drop-box folder (Variable
``aspace2alma_dropbox_folder``) are checked here too: a bad one fails the task at once, since a
retry would read the same value.
"""

from __future__ import annotations

import posixpath
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from include.aspace2alma.dropbox import DROPBOX_FOLDER, DROPBOX_FOLDER_VARIABLE, DropBoxFolderError, checked_folder
from include.aspace2alma.params import ParamError, RunParam
from include.common.variables import variable_or_default
from preservation_pipelines.aspace2alma.hooks.archivesspace import ArchivesSpaceHook
from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook
from preservation_pipelines.common.hooks.mail import MailHook


class Aspace2AlmaBaseOperator(BaseOperator):
    """Base of the aspace2alma operators: the drop box, ArchivesSpace and mail hooks.

    :param sftp_conn_id: the Alma drop box (SFTP).
    :param aspace_conn_id: the ArchivesSpace backend API.
    :param smtp_conn_id: the mail server of the alerts.
    :param folder: the drop-box folder on ``sftp_conn_id`` (templated; default: the Variable
        ``aspace2alma_dropbox_folder``, ``/alma/aspace`` while it is unset).
    """

    def __init__(
        self,
        *,
        sftp_conn_id: str = SFTPDropBoxHook.default_conn_name,
        aspace_conn_id: str = ArchivesSpaceHook.default_conn_name,
        smtp_conn_id: str = MailHook.default_conn_name,
        folder: str = variable_or_default(DROPBOX_FOLDER_VARIABLE, DROPBOX_FOLDER),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self.sftp_conn_id = sftp_conn_id
        self.aspace_conn_id = aspace_conn_id
        self.smtp_conn_id = smtp_conn_id

    @cached_property
    def dropbox_hook(self) -> SFTPDropBoxHook:
        return SFTPDropBoxHook(self.sftp_conn_id)

    @cached_property
    def aspace_hook(self) -> ArchivesSpaceHook:
        return ArchivesSpaceHook(self.aspace_conn_id, **self.aspace_hook_parameters)

    @property
    def aspace_hook_parameters(self) -> dict[str, Any]:
        """Keyword arguments of ``ArchivesSpaceHook`` beyond the connection; an operator may add some."""
        return {}

    @cached_property
    def mail_hook(self) -> MailHook:
        return MailHook(smtp_conn_id=self.smtp_conn_id)

    def dropbox_path(self, name: str) -> str:
        """``<folder>/<name>`` in the drop box; a folder that is not a plain absolute path fails the task at once."""
        try:
            return posixpath.join(checked_folder(self.folder), name)
        except DropBoxFolderError as error:
            raise AirflowFailException(str(error)) from error

    @staticmethod
    def checked(param: RunParam, value: Any) -> Any:
        """``value`` of the run param ``param``, within its bounds; else the task fails without retrying."""
        try:
            return param.check(value)
        except ParamError as error:
            raise AirflowFailException(str(error)) from error
