"""The drop box's folder (only a plain absolute path) and how messages name a file's age."""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from include.aspace2alma.dropbox import DropBoxFolderError, checked_folder, describe_mtime


def test_a_file_is_absent_or_dated_in_eastern_time():
    assert describe_mtime(None) == "absent"
    assert describe_mtime(datetime(2026, 11, 20, 8, 30, tzinfo=UTC)) == "from 2026-11-20 03:30 EST"
    assert describe_mtime(datetime(2026, 7, 1, 8, 30, tzinfo=UTC)) == "from 2026-07-01 04:30 EDT"


@pytest.mark.parametrize("value", ["/alma/aspace", "/alma/aspace/", "/a", "/Alma_2/drop-box~1/v1.2"])
def test_a_plain_absolute_folder_is_accepted_without_its_trailing_slash(value):
    assert checked_folder(value) == value.rstrip("/")


@pytest.mark.parametrize(
    "value",
    [None, 5, "", "/", "alma/aspace", "/alma/../etc", "/alma/..", "/alma/./aspace", "/alma/.ssh", "/alma//aspace",
     "/alma/as pace", "/alma/aspace\n", "/alma/\x00", "/alma\\aspace", "/" + "a" * 256],
)  # fmt: skip
def test_a_folder_that_is_not_a_plain_absolute_path_is_refused_naming_the_variable(value):
    with pytest.raises(DropBoxFolderError, match="aspace2alma_dropbox_folder"):
        checked_folder(value)


@given(st.text(alphabet=st.sampled_from("/.a-_~\\ \n\x00Z9"), max_size=40))
def test_no_accepted_folder_can_reach_outside_itself(value):
    try:
        folder = checked_folder(value)
    except DropBoxFolderError:
        return
    assert folder.startswith("/") and posixpath.normpath(folder) == folder
    assert not any(part.startswith(".") for part in folder.split("/"))
