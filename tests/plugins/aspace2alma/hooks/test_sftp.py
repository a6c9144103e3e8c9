"""SFTPDropBoxHook on the real sshd: rotation, atomic upload, retries while the server is down."""

from __future__ import annotations

import time

import pytest

from tests.dags.aspace2alma_support import FOLDER, dropbox  # noqa: F401 - fixture


def _hook():
    from preservation_pipelines.aspace2alma.hooks.sftp import SFTPDropBoxHook

    return SFTPDropBoxHook()


def test_rotate_moves_current_over_previous_and_is_safe_to_repeat(dropbox):
    (dropbox / "MARC_out.xml").write_text("today")
    (dropbox / "MARC_out_old.xml").write_text("yesterday")
    hook = _hook()
    assert hook.rotate(f"{FOLDER}/MARC_out.xml", f"{FOLDER}/MARC_out_old.xml") is True
    assert hook.rotate(f"{FOLDER}/MARC_out.xml", f"{FOLDER}/MARC_out_old.xml") is False
    assert not (dropbox / "MARC_out.xml").exists()
    assert (dropbox / "MARC_out_old.xml").read_text() == "today"


def test_rotation_keeps_the_mtime_and_read_bytes_reads_it_back(dropbox):
    import os

    report = dropbox / "sc_active_barcodes.csv"
    report.write_bytes(b"\xef\xbb\xbfBarcode\n1\n")
    os.utime(report, (1_700_000_000, 1_700_000_000))
    hook = _hook()
    hook.rotate(f"{FOLDER}/sc_active_barcodes.csv", f"{FOLDER}/sc_active_barcodes_old.csv")
    assert hook.modified_at(f"{FOLDER}/sc_active_barcodes_old.csv").timestamp() == 1_700_000_000
    assert hook.read_bytes(f"{FOLDER}/sc_active_barcodes_old.csv") == b"\xef\xbb\xbfBarcode\n1\n"
    assert hook.modified_at(f"{FOLDER}/absent.csv") is None


def test_upload_replaces_the_target_whole_and_clears_leftover_parts(dropbox, tmp_path):
    (dropbox / "MARC_out.xml").write_text("old")
    (dropbox / ".MARC_out.xml.deadbeef.part").write_text("half of an interrupted upload")
    local = tmp_path / "MARC_out.xml"
    local.write_bytes(b"<collection>" + b"x" * 3_000_000 + b"</collection>")

    written = _hook().upload_atomically(local, f"{FOLDER}/MARC_out.xml")

    assert written == local.stat().st_size
    assert (dropbox / "MARC_out.xml").read_bytes() == local.read_bytes()
    assert sorted(p.name for p in dropbox.iterdir()) == ["MARC_out.xml"]


def test_sftp_down_at_upload_time_is_retried_and_no_partial_file_is_visible(devstack, sftp, dropbox, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    local = tmp_path / "MARC_out.xml"
    local.write_bytes(b"<collection/>")
    devstack.stop(["sftp"])
    try:
        with ThreadPoolExecutor(1) as pool:
            upload = pool.submit(_hook().upload_atomically, local, f"{FOLDER}/MARC_out.xml", attempts=6, backoff=0.5)
            time.sleep(2)
            assert not upload.done()
            devstack.start(["sftp"])  # from the main thread: the server dies with the thread that starts it
            written = upload.result(timeout=120)
    finally:
        devstack.start(["sftp"])
    assert written == len(b"<collection/>")
    assert sorted(p.name for p in dropbox.iterdir()) == ["MARC_out.xml"]


def test_a_refused_upload_fails_at_once_and_leaves_the_target_alone(dropbox, tmp_path):
    local = tmp_path / "MARC_out.xml"
    local.write_bytes(b"<collection/>")
    with pytest.raises(OSError):
        _hook().upload_atomically(local, "/no/such/folder/MARC_out.xml", attempts=3, backoff=30)
